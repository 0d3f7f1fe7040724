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
import type { Span, Tracer } from '@opentelemetry/api';
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
import { endSseWithError, sendError } from './respond.js';

export interface RequestIO {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Milliseconds spent waiting on providers; subtracted to measure the proxy's overhead. */
  upstreamMs: number;
  /** The request's server span, when tracing is on (handlers add GenAI attributes). */
  span?: Span;
  /** The trace id, when tracing is on: put in every log line about this request. */
  traceId?: string;
  /** The provider that answered, once known (for the access log line). */
  provider?: string;
  /** The response cache scope of the client key used; absent without keys (one scope). */
  clientScope?: string;
  /** The request body, read whole before the handler runs; absent when none was sent. */
  body?: Buffer;
}

export type ProxyHandler = (ctx: TaskContext, io: RequestIO) => Promise<void>;

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

export function serveProxied(
  deps: ProxyRequestDeps,
  route: Route,
  io: RequestIO,
  handler: ProxyHandler,
): void {
  const started = performance.now();
  if (!deps.gate.accepting()) {
    deps.metrics.shed.draining.inc();
    return refuse(deps, route, io, started, errors.draining());
  }
  const key = authenticate(deps.keys, io);
  if (key instanceof ProxyError) return refuse(deps, route, io, started, key);
  const retryAfter = deps.rateLimit?.(key);
  if (retryAfter instanceof Promise) {
    return awaitRateLimit(retryAfter, deps, route, io, handler, started);
  }
  const receiving = hasBody(io.req);
  const refusal = admissionRefusal(deps, io, retryAfter, receiving);
  if (refusal !== undefined) return refuse(deps, route, io, started, refusal);
  const handle = spawnRequest(deps, route, io, handler, receiving);
  if (handle instanceof ProxyError) return refuse(deps, route, io, started, handle);
  answerWhenSettled(deps, route, io, handle, started);
}

/** Counts the request (route, method, status, duration) once its response is done. */
function countRequest(deps: ProxyRequestDeps, route: Route, io: RequestIO, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  deps.metrics.request(route, io.req.method ?? 'OTHER', io.res.statusCode, seconds);
}

function refuse(
  deps: ProxyRequestDeps,
  route: Route,
  io: RequestIO,
  started: number,
  err: ProxyError,
): void {
  sendError(io.res, err);
  countRequest(deps, route, io, started);
}

/**
 * The client's key ('' when the proxy has no keys), its cache scope recorded on `io`; or why
 * the request is refused.
 */
function authenticate(keys: KeySet, io: RequestIO): string | ProxyError {
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
 * The shared limiter answered asynchronously (it never rejects): re-enter with its verdict,
 * so the gate is checked again, unless the client left meanwhile.
 */
function awaitRateLimit(
  verdict: Promise<number | undefined>,
  deps: ProxyRequestDeps,
  route: Route,
  io: RequestIO,
  handler: ProxyHandler,
  started: number,
): void {
  const again = (retryAfter: number | undefined): void => {
    if (!io.res.destroyed) {
      serveProxied({ ...deps, rateLimit: () => retryAfter }, route, io, handler);
    }
  };
  void verdict
    .then(again)
    .catch((err: unknown) =>
      refuse(deps, route, io, started, internal(deps.logger, err, undefined)),
    );
}

/**
 * Why the request is shed before its task starts (rate limited, every slot taken, too many
 * bodies arriving), counted by reason; undefined when it may go on. A request with a body
 * takes its receiving place here.
 */
function admissionRefusal(
  deps: ProxyRequestDeps,
  io: RequestIO,
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
  route: Route,
  io: RequestIO,
  handler: ProxyHandler,
  receiving: boolean,
): TaskHandle<void> | ProxyError {
  try {
    return deps.scope.spawn(
      HTTP_REQUEST,
      (ctx) => runRequest(ctx, deps, route, io, handler, receiving),
      deps.tracer === undefined
        ? { deadlineMs: deps.requestTimeoutMs }
        : { ...serverSpan(io.req, route), deadlineMs: deps.requestTimeoutMs },
    );
  } catch (err) {
    if (receiving) deps.admission.doneReceiving(io.clientScope);
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
function answerWhenSettled(
  deps: ProxyRequestDeps,
  route: Route,
  io: RequestIO,
  handle: TaskHandle<void>,
  started: number,
): void {
  const { res } = io;
  const onClose = (): void => {
    if (!res.writableFinished) handle.cancel('client_gone');
  };
  res.once('close', onClose);
  void handle.settled.then((result) => {
    res.off('close', onClose);
    if (!res.writableEnded && !res.destroyed) {
      const err = unanswered(result, deps, io);
      if (res.headersSent) endSseWithError(res, err);
      else sendError(res, err);
    }
    countRequest(deps, route, io, started);
    const ms = performance.now() - started;
    deps.metrics.overhead.observe(Math.max(0, ms - io.upstreamMs) / 1000);
    logRequest(deps.logger, route, io, ms);
  });
}

function logRequest(logger: Logger, route: Route, io: RequestIO, ms: number): void {
  if (!logger.isLevelEnabled('debug')) return;
  logger.debug(
    {
      route,
      status: io.res.statusCode,
      provider: io.provider,
      ms: Math.round(ms),
      trace_id: io.traceId,
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
  route: Route,
  io: RequestIO,
  handler: ProxyHandler,
  receiving: boolean,
): Promise<void> {
  const { res } = io;
  const span = ctx.span;
  if (span !== undefined) {
    io.span = span;
    io.traceId = span.spanContext().traceId;
    // The SDK reports it as a response's or error's `request_id`: what a client logs
    // finds the request's trace, and the proxy's log lines (`trace_id`).
    res.setHeader('x-request-id', io.traceId);
  }
  try {
    if (receiving) {
      try {
        io.body = await readBody(io.req, deps.bodyLimitBytes, ctx);
      } finally {
        deps.admission.doneReceiving(io.clientScope);
      }
    }
    if (!deps.admission.take()) {
      deps.metrics.shed.overload.inc();
      sendError(res, errors.overloaded(1));
      return;
    }
    deps.metrics.inflight.inc();
    try {
      await handler(ctx, io);
    } finally {
      deps.admission.release();
      deps.metrics.inflight.dec();
    }
  } catch (err) {
    if (ctx.cancelled) return;
    const proxyErr =
      err instanceof ProxyError
        ? err
        : err instanceof RoutingFailure
          ? routingError(err)
          : internal(deps.logger, err, io.traceId);
    if (proxyErr.status >= 500) {
      deps.logger.warn(
        { route, status: proxyErr.status, code: proxyErr.code, trace_id: io.traceId },
        proxyErr.message,
      );
    }
    if (res.headersSent) endSseWithError(res, proxyErr);
    else sendError(res, proxyErr);
  } finally {
    if (span !== undefined) finishServerSpan(span, res.statusCode);
  }
}

/**
 * The answer for a request whose task settled without finishing its response: cut off by
 * its deadline (504) or by shutdown (503, retryable elsewhere); otherwise a handler that
 * returned without answering, which is a bug (500, logged), but the client is never left
 * hanging. A request whose client went away has no one to answer.
 */
function unanswered(
  result: TaskResult<unknown>,
  deps: ProxyRequestDeps,
  io: RequestIO,
): ProxyError {
  if (result.outcome === 'timed_out') return errors.requestTimeout(deps.requestTimeoutMs);
  if (result.outcome === 'cancelled' && result.reason === 'shutdown') return errors.shuttingDown();
  return internal(deps.logger, new Error('handler returned without a response'), io.traceId);
}

function internal(logger: Logger, err: unknown, traceId: string | undefined): ProxyError {
  logger.error({ err, trace_id: traceId }, 'unexpected error while serving a request');
  return errors.internal();
}
