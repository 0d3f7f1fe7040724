/** Serving an app over node:http (via @hono/node-server), and stopping it in order. */
import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { App } from '../app.js';
import { answerClientError, answerExpectation, requestErrorResponse } from './client-error.js';

export interface Listening {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections; idle keep-alive connections are closed now, busy ones when done. */
  stopAccepting(): void;
  /** Closes every remaining connection and resolves once the server is fully closed. */
  close(): Promise<void>;
}

export async function listen(app: App, host: string, port: number): Promise<Listening> {
  // The adapter's listener with an errorHandler (createAdaptorServer passes none), so requests
  // it cannot turn into a Request (bad Host, bad target) get an OpenAI-shaped 400 as well; a
  // missing Host is routed as localhost rather than refused by Node with an empty 400.
  const listener = getRequestListener(app.hono.fetch, {
    hostname: 'localhost',
    errorHandler: requestErrorResponse,
  });
  // A request must arrive whole within receiveTimeoutMs (checked every second), else Node
  // answers 408 and closes the connection: a client with a valid key dribbling its body
  // would otherwise hold one of maxInFlight's slots until requestTimeoutMs.
  const receiveMs = app.config.server.receiveTimeoutMs;
  const options = {
    requireHostHeader: false,
    requestTimeout: receiveMs,
    headersTimeout: Math.min(receiveMs, 60_000),
    connectionsCheckingInterval: Math.min(receiveMs, 1_000),
  };
  const server = createServer(options, (req, res) => {
    void listener(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerExpectation);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  // NOTE: node:http keeps a busy connection alive after its response even once the server
  // is closing, so it would linger until keepAliveTimeout (and keep close() waiting) and
  // could carry new requests. Once stopping, each finished response closes what is idle.
  // Prepended: it must run before the app's listener, which may answer synchronously.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    // Draining: every response closes its connection, so keep-alive clients reconnect (to
    // another replica, behind a load balancer) rather than send more requests here.
    if (app.state === 'draining' || app.state === 'stopped') res.setHeader('connection', 'close');
    res.once('close', () => {
      if (closed !== undefined) server.closeIdleConnections();
    });
  });
  const stopAccepting = (): void => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  };
  return {
    server,
    port: addr.port,
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stopAccepting,
    close: async () => {
      stopAccepting();
      server.closeAllConnections();
      await closed;
    },
  };
}
