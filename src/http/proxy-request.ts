/**
 * Every proxied request runs as one `http/request` task whose scope owns all work done for
 * it (fallback attempts, condensation). The task lasts until the response (or stream) has
 * ended; if the client goes away first, the task is cancelled with reason `client_gone`,
 * which closes the upstream sockets of every branch within the same tick.
 *
 * The task reads the body first, then takes an in-flight slot (see admission.ts): its
 * deadline and cancellation cover the read, and a body still arriving holds no slot.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { RoutingFailure } from '../routing/failure.js';
import {
  HTTP_REQUEST,
  TaskRejectedError,
  type Scope,
  type TaskContext,
  type TaskHandle,
  type TaskResult,
} from '../tasks/index.js';
import type { ProxyMetrics, Route } from '../telemetry/proxy-metrics.js';
import type { KeySet } from './auth.js';
import { presentedKey, repeatedAuthorization } from './auth.js';
import type { Admission } from './admission.js';
import { hasBody, readBody } from './body.js';
import { ProxyError, errors } from './errors.js';
import { finishServerSpan, serverSpan } from './request-span.js';
import { routingError } from './routing-failure.js';
import { answerFailure, Exchange, type NodeContext } from './exchange.js';
import type { ErrorShape } from './respond.js';

/** OpenTelemetry's attribute for a request header (semantic conventions: a string array). */
const CLIENT_REQUEST_ID_ATTRIBUTE = 'http.request.header.x-request-id';

/** A proxied route's work, in its request's task: it answers through its Exchange. */
export type ProxyHandler = (ctx: TaskContext, ex: Exchange) => Promise<void>;

export interface GateState {
  /** False while draining: proxy routes answer 503 at once. */
  accepting(): boolean;
}

export interface ProxyRequestDeps {
  scope: Scope;
  metrics: ProxyMetrics;
  logger: Logger;
  keys: KeySet;
  gate: GateState;
  /** Seconds to wait (429) or undefined; a Promise only from the Redis-shared limiter. */
  rateLimit?: (key: string) => number | undefined | Promise<number | undefined>;
  tracer?: Tracer | undefined;
  /** server.requestTimeoutMs: the request task's deadline, body read to last byte sent. */
  requestTimeoutMs: number;
  /** server.bodyLimitBytes: a larger body is refused (413). */
  bodyLimitBytes: number;
  /** Bodies being received, and requests in flight, within the server's bounds. */
  admission: Admission;
}

/** A proxied route as a handler of the Node request/response pair. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A proxied route on the Node pair, as the server calls it directly (see DirectRoutes in
 * server.ts): each request gets its Exchange (its timer starts here, its errors take the
 * route's `errorShape`) and is served by serveProxied; a throw no step answered is answered
 * and counted by answerFailure.
 */
export function proxiedNodeRoute(
  deps: ProxyRequestDeps,
  route: Route,
  handler: ProxyHandler,
  errorShape?: ErrorShape,
): NodeHandler {
  return function proxied(req: IncomingMessage, res: ServerResponse): void {
    const ex = new Exchange(route, req, res, deps.metrics, errorShape);
    try {
      serveProxied(deps, ex, handler);
    } catch (err) {
      answerFailure(ex, err, deps.logger);
    }
  };
}

/** A Node-pair route as a Hono handler: Hono is told the answer is (being) written. */
export function onHono(serve: NodeHandler) {
  return function proxied(c: NodeContext): Response {
    serve(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

/** A proxied route as a Hono handler. */
export function proxiedRoute(
  deps: ProxyRequestDeps,
  route: Route,
  handler: ProxyHandler,
  errorShape?: ErrorShape,
) {
  return onHono(proxiedNodeRoute(deps, route, handler, errorShape));
}

export function serveProxied(deps: ProxyRequestDeps, ex: Exchange, handler: ProxyHandler): void {
  if (!deps.gate.accepting()) {
    deps.metrics.shed.draining.inc();
    return refuse(ex, errors.draining());
  }
  const key = authenticate(deps.keys, ex);
  if (key instanceof ProxyError) return refuse(ex, key);
  const retryAfter = deps.rateLimit?.(key);
  if (retryAfter instanceof Promise) return awaitRateLimit(retryAfter, deps, ex, handler);
  admit(deps, ex, handler, retryAfter);
}

/** Past the gate, the key and the rate limit's verdict: sheds the request, or starts its task. */
function admit(
  deps: ProxyRequestDeps,
  ex: Exchange,
  handler: ProxyHandler,
  retryAfter: number | undefined,
): void {
  const receiving = hasBody(ex.req);
  const refusal = admissionRefusal(deps, ex, retryAfter, receiving);
  if (refusal !== undefined) return refuse(ex, refusal);
  const handle = spawnRequest(deps, ex, handler, receiving);
  if (handle instanceof ProxyError) return refuse(ex, handle);
  answerWhenSettled(deps, ex, handle);
}

/** Refused before its task started: answered and counted at once. */
function refuse(ex: Exchange, err: ProxyError): void {
  ex.error(err);
  ex.done();
}

/**
 * The client's key ('' when the proxy has no keys), its cache scope recorded on `io`; or why
 * the request is refused.
 */
function authenticate(keys: KeySet, io: Exchange): string | ProxyError {
  if (keys.size === 0) return '';
  if (repeatedAuthorization(io.req.rawHeaders)) return errors.repeatedAuthorization();
  const presented = presentedKey(io.req.headers);
  if (presented === undefined) return errors.missingKey();
  const scope = keys.scopeOf(presented);
  if (scope === undefined) return errors.invalidKey();
  io.clientScope = scope;
  return presented;
}

/**
 * The shared limiter answered asynchronously (it never rejects): go on with its verdict,
 * the gate checked again, unless the client left meanwhile. The request's timer runs on
 * from its arrival: the wait for the verdict is part of its duration.
 */
function awaitRateLimit(
  verdict: Promise<number | undefined>,
  deps: ProxyRequestDeps,
  ex: Exchange,
  handler: ProxyHandler,
): void {
  const again = (retryAfter: number | undefined): void => {
    if (ex.res.destroyed) return;
    if (deps.gate.accepting()) return admit(deps, ex, handler, retryAfter);
    deps.metrics.shed.draining.inc();
    refuse(ex, errors.draining());
  };
  void verdict
    .then(again)
    .catch((err: unknown) => refuse(ex, internal(deps.logger, err, undefined)));
}

/**
 * Why the request is shed before its task starts (rate limited, every slot taken, too many
 * bodies arriving), counted by reason; undefined when it may go on. A request with a body
 * takes its receiving place here.
 */
function admissionRefusal(
  deps: ProxyRequestDeps,
  io: Exchange,
  retryAfter: number | undefined,
  receiving: boolean,
): ProxyError | undefined {
  const { metrics } = deps;
  if (retryAfter !== undefined) {
    metrics.shed.rate_limit.inc();
    return errors.rateLimited(retryAfter);
  }
  if (deps.admission.full) {
    metrics.shed.overload.inc();
    return errors.overloaded(1);
  }
  if (!receiving) return undefined;
  const refusal = deps.admission.startReceiving(io.clientScope);
  if (refusal !== undefined) {
    (refusal.status === 429 ? metrics.shed.rate_limit : metrics.shed.overload).inc();
  }
  return refusal;
}

/**
 * Starts the request's task under its deadline (and server span, when tracing); if the scope
 * refuses it, gives back the receiving place and says why (overloaded, or draining).
 */
function spawnRequest(
  deps: ProxyRequestDeps,
  ex: Exchange,
  handler: ProxyHandler,
  receiving: boolean,
): TaskHandle<void> | ProxyError {
  try {
    return deps.scope.spawn(
      HTTP_REQUEST,
      (ctx) => runRequest(ctx, deps, ex, handler, receiving),
      deps.tracer === undefined
        ? { deadlineMs: deps.requestTimeoutMs }
        : { ...serverSpan(ex.req, ex.route), deadlineMs: deps.requestTimeoutMs },
    );
  } catch (err) {
    if (receiving) deps.admission.doneReceiving(ex.clientScope);
    if (!(err instanceof TaskRejectedError)) throw err;
    if (err.reason === 'limit') {
      deps.metrics.shed.overload.inc();
      return errors.overloaded(1);
    }
    deps.metrics.shed.draining.inc();
    return errors.draining();
  }
}

/**
 * Cancels the task if the client goes away first; once it settles, answers a response it
 * left unfinished, then counts, measures and logs the request.
 */
function answerWhenSettled(deps: ProxyRequestDeps, ex: Exchange, handle: TaskHandle<void>): void {
  const { res } = ex;
  const onClose = (): void => {
    if (!res.writableFinished) handle.cancel('client_gone');
  };
  // NOTE: `on`, not `once` (a response closes once): no once-wrapper per request.
  res.on('close', onClose);
  void handle.settled.then((result) => {
    res.off('close', onClose);
    if (!res.writableEnded && !res.destroyed) ex.fail(unanswered(result, deps, ex));
    ex.done();
    const ms = ex.elapsedMs();
    deps.metrics.overhead.observe(Math.max(0, ms - ex.upstreamMs) / 1000);
    logRequest(deps.logger, ex, ms);
  });
}

function logRequest(logger: Logger, ex: Exchange, ms: number): void {
  if (!logger.isLevelEnabled('debug')) return;
  logger.debug(
    {
      route: ex.route,
      status: ex.res.statusCode,
      provider: ex.provider,
      ms: Math.round(ms),
      request_id: ex.requestId,
      trace_id: ex.traceId,
    },
    'request',
  );
}

/**
 * The request's task: reads the body (holding its receiving place meanwhile), then runs the
 * handler in an in-flight slot, or sheds the request if every slot was taken in between.
 */
async function runRequest(
  ctx: TaskContext,
  deps: ProxyRequestDeps,
  ex: Exchange,
  handler: ProxyHandler,
  receiving: boolean,
): Promise<void> {
  const span = ctx.span;
  if (span !== undefined) {
    ex.span = span;
    ex.traceId = span.spanContext().traceId;
    // The SDK reports it as a response's or error's `request_id`: what a client logs
    // finds the request's trace, and the proxy's log lines (`trace_id`). A client's own
    // id stays the answer's, and is put on the span so it finds the trace too.
    ex.identify(ex.traceId);
    if (ex.requestIdFromClient) span.setAttribute(CLIENT_REQUEST_ID_ATTRIBUTE, [ex.requestId]);
  }
  try {
    if (receiving) {
      try {
        ex.body = await readBody(ex.req, deps.bodyLimitBytes, ctx);
      } finally {
        deps.admission.doneReceiving(ex.clientScope);
      }
    }
    if (!deps.admission.take()) {
      deps.metrics.shed.overload.inc();
      ex.error(errors.overloaded(1));
      return;
    }
    deps.metrics.inflight.inc();
    try {
      await handler(ctx, ex);
    } finally {
      deps.admission.release();
      deps.metrics.inflight.dec();
    }
  } catch (err) {
    if (!ctx.cancelled) ex.fail(failure(deps.logger, ex, err));
  } finally {
    if (span !== undefined) finishServerSpan(span, ex.res.statusCode);
  }
}

/** What a handler's throw answers: its ProxyError, routing's failure mapped, else a 500. */
function failure(logger: Logger, ex: Exchange, err: unknown): ProxyError {
  const proxyErr =
    err instanceof ProxyError
      ? err
      : err instanceof RoutingFailure
        ? routingError(err)
        : internal(logger, err, ex.traceId);
  if (proxyErr.status >= 500) {
    logger.warn(
      {
        route: ex.route,
        status: proxyErr.status,
        code: proxyErr.code,
        request_id: ex.requestId,
        trace_id: ex.traceId,
      },
      proxyErr.message,
    );
  }
  return proxyErr;
}

/**
 * The answer for a request whose task settled without finishing its response: cut off by
 * its deadline (504) or by shutdown (503, retryable elsewhere); otherwise a handler that
 * returned without answering, which is a bug (500, logged), but the client is never left
 * hanging. A request whose client went away has no one to answer.
 */
function unanswered(result: TaskResult<unknown>, deps: ProxyRequestDeps, ex: Exchange): ProxyError {
  if (result.outcome === 'timed_out') return errors.requestTimeout(deps.requestTimeoutMs);
  if (result.outcome === 'cancelled' && result.reason === 'shutdown') return errors.shuttingDown();
  return internal(deps.logger, new Error('handler returned without a response'), ex.traceId);
}

function internal(logger: Logger, err: unknown, traceId: string | undefined): ProxyError {
  logger.error({ err, trace_id: traceId }, 'unexpected error while serving a request');
  return errors.internal();
}
