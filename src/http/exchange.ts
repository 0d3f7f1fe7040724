/**
 * One way to answer. Every request the app takes, whatever its route (the proxied API, the
 * ops and admin routes, a 404 or 405, an error no route caught), is one `Exchange`: the Node
 * request and response, the one request timer (started once, when the route takes the
 * request), and the one place the request is counted (route, method, status, duration).
 * Answers are written straight to the Node response by the writers in respond.ts, and Hono
 * is handed RESPONSE_ALREADY_SENT, so no route builds a web Response.
 *
 * NOTE: a class, not an object literal plus closures: its methods are shared by every
 * request, and it replaces the `{ req, res, upstreamMs }` literal the proxied routes made
 * anyway, so a request costs one object as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Frame } from '../upstream/index.js';
import { sampledTraceId, type ProxyMetrics, type Route } from '../telemetry/proxy-metrics.js';
import { ProxyError, errors } from './errors.js';
import {
  endSseWithError,
  sendError,
  sendJson,
  sendText,
  startSse,
  writeFrame,
  type ErrorShape,
  type ExtraHeaders,
} from './respond.js';
import {
  ANTHROPIC_REQUEST_ID_HEADER,
  clientRequestId,
  generateRequestId,
  REQUEST_ID_HEADER,
} from './request-id.js';

/** One request and its answer; see the module comment. */
export class Exchange {
  /** Milliseconds spent waiting on providers; subtracted to measure the proxy's overhead. */
  upstreamMs = 0;
  /** The request's server span, when tracing is on (handlers add GenAI attributes). */
  span?: Span;
  /** The trace id, when tracing is on: put in every log line about this request. */
  traceId?: string;
  /**
   * The answer's `x-request-id` (request-id.ts), in the request's log line: the client's own
   * when it sent a sane one, else the trace id once traced, else a generated id.
   */
  requestId: string;
  /** True when `requestId` is the client's own `x-request-id`, echoed. */
  readonly requestIdFromClient: boolean;
  /** The provider that answered, once known (for the access log line). */
  provider?: string;
  /** The response cache scope of the client key used; absent without keys (one scope). */
  clientScope?: string;
  /** The request body, read whole before the handler runs; absent when none was sent. */
  body?: Buffer;
  /** performance.now() when the route took the request: the request's one timer. */
  readonly started = performance.now();
  private counted = false;

  constructor(
    /** The metrics label: a route of the API or ops, or 'other' for what matched none. */
    readonly route: Route,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly metrics: ProxyMetrics,
    /** The shape of every error this request answers (its route's, see ErrorShape). */
    readonly errorShape: ErrorShape = 'openai',
  ) {
    const sent = clientRequestId(req.headers);
    this.requestIdFromClient = sent !== undefined;
    this.requestId = sent ?? generateRequestId();
    this.setRequestId(this.requestId);
  }

  /** Makes `id` (the trace id) the answer's request id, unless the client chose its own. */
  identify(id: string): void {
    if (this.requestIdFromClient || this.res.headersSent) return;
    this.requestId = id;
    this.setRequestId(id);
  }

  /** The id's headers: `x-request-id`, and Anthropic's `request-id` on its API's routes. */
  private setRequestId(id: string): void {
    this.res.setHeader(REQUEST_ID_HEADER, id);
    // The Anthropic SDK reads `request-id` (a message's `_request_id`, an error's requestID).
    if (this.errorShape === 'anthropic') this.res.setHeader(ANTHROPIC_REQUEST_ID_HEADER, id);
  }

  /** Milliseconds since the route took the request. */
  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** A JSON answer (`body` already serialised), unless an answer was already started. */
  json(status: number, body: string, headers?: ExtraHeaders): void {
    sendJson(this.res, status, body, headers);
  }

  /** An error answer in the route's shape. */
  error(err: ProxyError, headers?: ExtraHeaders): void {
    sendError(this.res, err, headers, this.errorShape);
  }

  /** A text answer with its own content type (the Prometheus scrape). */
  text(status: number, body: string, contentType: string): void {
    sendText(this.res, status, body, contentType);
  }

  /** Starts an SSE answer; frames follow with frame(), an error after the start with failStream(). */
  startStream(headers: ExtraHeaders): void {
    startSse(this.res, headers);
  }

  /** See writeFrame: true, false once the client is gone, or a promise of either when slow. */
  frame(frame: Frame): boolean | Promise<boolean> {
    return writeFrame(this.res, frame);
  }

  /** Ends a started SSE answer, with `last` as its final frame when given. */
  endStream(last?: Frame): void {
    if (last === undefined) this.res.end();
    else this.res.end(last);
  }

  /** Ends a started SSE answer with an error event in the route's shape. */
  failStream(err: ProxyError): void {
    endSseWithError(this.res, err, this.errorShape);
  }

  /** Answers an error whatever was sent: a JSON error, or the error event once a stream started. */
  fail(err: ProxyError): void {
    if (this.res.headersSent) endSseWithError(this.res, err, this.errorShape);
    else sendError(this.res, err, undefined, this.errorShape);
  }

  /**
   * Counts the request once its answer is done (route, method, status, duration, and the
   * trace as the duration's exemplar when the span is sampled); later calls do nothing, so
   * every way out of a route may call it.
   */
  done(): void {
    if (this.counted) return;
    this.counted = true;
    this.metrics.request(
      this.route,
      this.req.method ?? 'OTHER',
      this.res.statusCode,
      this.elapsedMs() / 1000,
      this.span === undefined ? undefined : sampledTraceId(this.span.spanContext()),
    );
  }
}

/** The Hono context as routes see it under @hono/node-server: the Node request/response pair. */
export interface NodeContext {
  readonly env: { readonly incoming: IncomingMessage; readonly outgoing: ServerResponse };
}

/** The exchange for a request a route (labelled `route`) has just taken: starts its timer. */
export function exchangeOf(
  route: Route,
  c: NodeContext,
  metrics: ProxyMetrics,
  errorShape?: ErrorShape,
): Exchange {
  return new Exchange(route, c.env.incoming, c.env.outgoing, metrics, errorShape);
}

/**
 * A throw no step of the route answered: logged, answered (its own ProxyError, else a 500)
 * unless an answer had already started, and counted. What a route hands back to Hono.
 */
export function answerFailure(ex: Exchange, err: unknown, logger: Logger): Response {
  logger.error({ err }, 'unhandled error in a route');
  if (!ex.res.headersSent) ex.error(err instanceof ProxyError ? err : errors.internal());
  ex.done();
  return RESPONSE_ALREADY_SENT;
}
