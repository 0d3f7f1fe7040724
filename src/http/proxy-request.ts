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
  const { req, res } = io;
  const { metrics } = deps;
  const finish = (): void => {
    const seconds = (performance.now() - started) / 1000;
    metrics.request(route, req.method ?? 'OTHER', res.statusCode, seconds);
  };
  const refuse = (err: ProxyError): void => {
    sendError(res, err);
    finish();
  };

  if (!deps.gate.accepting()) {
    metrics.shed.draining.inc();
    return refuse(errors.draining());
  }
  let key = '';
  if (deps.keys.size > 0) {
    if (repeatedAuthorization(req.rawHeaders)) return refuse(errors.repeatedAuthorization());
    const presented = presentedKey(req.headers);
    if (presented === undefined) return refuse(errors.missingKey());
    const scope = deps.keys.scopeOf(presented);
    if (scope === undefined) return refuse(errors.invalidKey());
    key = presented;
    io.clientScope = scope;
  }
  const retryAfter = deps.rateLimit?.(key);
  if (retryAfter instanceof Promise) {
    // The shared limiter answered asynchronously (it never rejects): re-enter with its verdict,
    // so the gate is checked again, unless the client left meanwhile.
    const again = (verdict: number | undefined): void => {
      if (!res.destroyed) serveProxied({ ...deps, rateLimit: () => verdict }, route, io, handler);
    };
    void retryAfter
      .then(again)
      .catch((err: unknown) => refuse(internal(deps.logger, err, undefined)));
    return;
  }
  if (retryAfter !== undefined) {
    metrics.shed.rate_limit.inc();
    return refuse(errors.rateLimited(retryAfter));
  }
  if (deps.admission.full) {
    metrics.shed.overload.inc();
    return refuse(errors.overloaded(1));
  }
  const receiving = hasBody(req);
  if (receiving) {
    const refusal = deps.admission.startReceiving(io.clientScope);
    if (refusal !== undefined) {
      (refusal.status === 429 ? metrics.shed.rate_limit : metrics.shed.overload).inc();
      return refuse(refusal);
    }
  }

  let handle;
  try {
    handle = deps.scope.spawn(
      HTTP_REQUEST,
      (ctx) => runRequest(ctx, deps, route, io, handler, receiving),
      deps.tracer === undefined
        ? { deadlineMs: deps.requestTimeoutMs }
        : { ...serverSpan(req, route), deadlineMs: deps.requestTimeoutMs },
    );
  } catch (err) {
    if (receiving) deps.admission.doneReceiving(io.clientScope);
    if (!(err instanceof TaskRejectedError)) throw err;
    if (err.reason === 'limit') {
      metrics.shed.overload.inc();
      return refuse(errors.overloaded(1));
    }
    metrics.shed.draining.inc();
    return refuse(errors.draining());
  }
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
    finish();
    const ms = performance.now() - started;
    metrics.overhead.observe(Math.max(0, ms - io.upstreamMs) / 1000);
    if (deps.logger.isLevelEnabled('debug')) {
      deps.logger.debug(
        {
          route,
          status: res.statusCode,
          provider: io.provider,
          ms: Math.round(ms),
          trace_id: io.traceId,
        },
        'request',
      );
    }
  });
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
