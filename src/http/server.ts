/** Serving an app over node:http (via @hono/node-server), and stopping it in order. */
import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { ServerConfig } from '../config/index.js';
import { discardAllowance, discardRest } from './body.js';
import { answerClientError, answerExpectation, requestErrorResponse } from './client-error.js';

/**
 * What `listen` needs of an app. createApp's App has it: http/ names only this, so it does not
 * import the composition root (src/app.ts), which imports http/.
 */
export interface ServedApp {
  readonly hono: Pick<Hono<{ Bindings: HttpBindings }>, 'fetch'>;
  /** Routes also served straight from node:http, ahead of the Hono adapter (see below). */
  readonly direct?: DirectRoutes;
  readonly config: { readonly server: ServerConfig };
  readonly state: 'starting' | 'ready' | 'draining' | 'stopped';
}

/** A route served on the Node pair: the one method it takes at its path. */
export interface DirectRoute {
  readonly method: string;
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Routes served without the Hono adapter, by exact request target (a path with no query).
 * NOTE: the adapter costs a proxied request about 4 us of CPU that no proxied route needs
 * (a web Request, Hono's context, an async response pass that only finds the answer already
 * sent, and a close handler), so the hot routes are looked up here first. Only what the
 * adapter would hand the same route unchanged is served here; everything else, a Host it
 * would have to check by building a URL included, goes through Hono as before. The app
 * lists no direct route while a middleware (CORS) must run on them.
 */
export type DirectRoutes = ReadonlyMap<string, DirectRoute>;

/**
 * Hosts the adapter takes as they are, without building a URL that might refuse them: its own
 * test (@hono/node-server's buildUrl): lower-case names, no port or one of 1000-59999.
 */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/** The direct route for `req`, when it has one and the adapter would route it there as is. */
function directRoute(routes: DirectRoutes, req: IncomingMessage): DirectRoute | undefined {
  const route = routes.get(req.url ?? '');
  if (route === undefined || route.method !== req.method) return undefined;
  const host = req.headers.host;
  // No Host (or an empty one) is routed as localhost, as the adapter does.
  return host === undefined || host === '' || PLAIN_HOST.test(host) ? route : undefined;
}

export interface Listening {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections; idle keep-alive connections, and those only dropping the
   * rest of a body already answered, are closed now, busy ones when done.
   */
  stopAccepting(): void;
  /** Closes every remaining connection and resolves once the server is fully closed. */
  close(): Promise<void>;
}

/** Node's own mark on a response after which it closes the connection (`Connection: close`). */
interface LastResponse {
  _last?: boolean;
}

/** What stopping has to reach: set once stopAccepting() was called, and bodies still dropped. */
interface Stopping {
  closed: Promise<void> | undefined;
  /** Connections dropping the rest of a body answered early (a 413): stopping cuts them. */
  readonly lingering: Set<() => void>;
}

export async function listen(app: ServedApp, host: string, port: number): Promise<Listening> {
  const server = createAppServer(app);
  await bind(server, port, host);
  const addr = server.address() as AddressInfo;
  const stopping: Stopping = { closed: undefined, lingering: new Set() };
  manageConnections(server, app, stopping);
  const stopAccepting = (): void => {
    stopping.closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const cut of stopping.lingering) cut();
  };
  return {
    server,
    port: addr.port,
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stopAccepting,
    close: async () => {
      stopAccepting();
      server.closeAllConnections();
      await stopping.closed;
    },
  };
}

/** A node:http server running the app, with the server's receive bounds and client errors. */
function createAppServer(app: ServedApp): Server {
  // The adapter's listener with an errorHandler (createAdaptorServer passes none), so requests
  // it cannot turn into a Request (bad Host, bad target) get an OpenAI-shaped 400 as well; a
  // missing Host is routed as localhost rather than refused by Node with an empty 400.
  // autoCleanupIncoming off: the adapter would drop an unread body for 500 ms on a bare
  // timer, then cut the connection under a client still uploading; lingering below does it.
  const listener = getRequestListener(app.hono.fetch, {
    hostname: 'localhost',
    errorHandler: requestErrorResponse,
    autoCleanupIncoming: false,
  });
  // A request must arrive whole within receiveTimeoutMs (checked every second), else Node
  // answers 408 and closes the connection: a client with a valid key dribbling its body
  // would otherwise hold its receiving place (server.maxReceiving) until requestTimeoutMs.
  const receiveMs = app.config.server.receiveTimeoutMs;
  const options = {
    requireHostHeader: false,
    requestTimeout: receiveMs,
    headersTimeout: Math.min(receiveMs, 60_000),
    connectionsCheckingInterval: Math.min(receiveMs, 1_000),
  };
  const direct = app.direct ?? new Map<string, DirectRoute>();
  const server = createServer(options, (req, res) => {
    const route = directRoute(direct, req);
    if (route === undefined) {
      void listener(req, res).catch(() => res.destroy());
      return;
    }
    try {
      route.serve(req, res);
    } catch {
      res.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerExpectation);
  return server;
}

function bind(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Per response: while draining, asks the client to close its connection; a body answered
 * before it arrived whole lingers; once stopping, what is idle or still uploading is closed.
 */
function manageConnections(server: Server, app: ServedApp, stopping: Stopping): void {
  const discardBytes = discardAllowance(app.config.server.bodyLimitBytes);
  // A response's 'finish' listener (one function for all, no closure per request): a request
  // answered before its body arrived whole lingers (see discardRest), or, once stopping, has
  // its connection closed. NOTE: prepended, to run before Node's own 'finish' handling,
  // which would dump the body uncounted, and would close a connection whose response said
  // `Connection: close` (the client asked for it, as Python's urllib does, or the proxy is
  // draining) under the upload at once: Node does that when `_last` is set, so it is
  // cleared, and discardRest closes the connection once the body is all in instead.
  const lingerIfUnread = function (this: ServerResponse & LastResponse): void {
    const req = this.req;
    if (req.complete) return;
    if (stopping.closed !== undefined) {
      req.socket.destroy();
      return;
    }
    const closeAfter = this._last === true;
    this._last = false;
    const cut = discardRest(req, discardBytes, closeAfter, () => stopping.lingering.delete(cut));
    stopping.lingering.add(cut);
  };
  const closeIdleIfStopping = (): void => {
    if (stopping.closed !== undefined) server.closeIdleConnections();
  };
  // NOTE: node:http keeps a busy connection alive after its response even once the server
  // is closing, so it would linger until keepAliveTimeout (and keep close() waiting) and
  // could carry new requests. Once stopping, each finished response closes what is idle.
  // Prepended: it must run before the app's listener, which may answer synchronously.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    // Draining: every response closes its connection, so keep-alive clients reconnect (to
    // another replica, behind a load balancer) rather than send more requests here.
    if (app.state === 'draining' || app.state === 'stopped') res.setHeader('connection', 'close');
    res.prependListener('finish', lingerIfUnread);
    // NOTE: one shared listener, and `on` rather than `once` (a response closes once): no
    // closure nor once-wrapper per request.
    res.on('close', closeIdleIfStopping);
  });
}
