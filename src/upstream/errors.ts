/**
 * What a provider call can fail with, classified once at the adapter edge so the fallback
 * engine, breaker and metrics all read the same kind. Messages are short status lines built
 * by us (never the upstream body verbatim, which could echo a key).
 */
import { EXPECTED_FAILURE, isCancellation } from '../tasks/errors.js';
import type { CancelSignal } from '../tasks/cancellation.js';
import { classifyStatus, type FailureKind } from './failure-kind.js';

// undici's timeout errors (HeadersTimeoutError, BodyTimeoutError, ConnectTimeoutError), by
// their stable codes: the contract stays free of the transport library.
const TIMEOUT_CODES: ReadonlySet<unknown> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * What an upstream said about a request it refused (4xx), in OpenAI's error shape: its own
 * message, type, param and code, scrubbed of keys by the adapter. The client hears these
 * words rather than a bare status line.
 */
export interface ClientErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A refusal that is the client's request's fault: the upstream's status and its words. */
export interface RequestFault {
  status: number;
  body: ClientErrorBody;
}

export interface UpstreamErrorDetails {
  /** The upstream's HTTP status, when it answered with one. */
  status?: number | undefined;
  /** The upstream's Retry-After (or a cooldown's rest), in milliseconds. */
  retryAfterMs?: number | undefined;
  clientError?: ClientErrorBody | undefined;
}

/** 4xx answers that are about the request itself: every provider would say the same. */
const REQUEST_FAULT_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  /** Expected failures are reported at debug level, not as task errors. */
  readonly [EXPECTED_FAILURE] = true;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly clientError: ClientErrorBody | undefined;
  /**
   * Set when the client's request is at fault (a 400, 413 or 422 with the upstream's own
   * words): every provider would refuse it alike, so the engine does not fail over and the
   * client is answered with this status and these words.
   */
  readonly requestFault: RequestFault | undefined;

  constructor(
    readonly kind: FailureKind,
    message: string,
    { status, retryAfterMs, clientError }: UpstreamErrorDetails = {},
  ) {
    super(message);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.clientError = clientError;
    this.requestFault =
      clientError !== undefined && status !== undefined && REQUEST_FAULT_STATUSES.has(status)
        ? { status, body: clientError }
        : undefined;
  }
}

/** An upstream's error status, classified, with what it said (a 4xx, or a 5xx in JSON) and its Retry-After. */
export function statusError(
  status: number,
  retryAfterMs?: number,
  clientError?: ClientErrorBody,
): UpstreamError {
  return new UpstreamError(classifyStatus(status), `HTTP ${status}`, {
    status,
    retryAfterMs,
    clientError,
  });
}

/**
 * A request no provider could take as it is (what a translation cannot carry, an API the
 * provider lacks): the client's fault, a 400 with `message` and `param`, so the engine answers
 * it at once instead of failing over (every provider that translates would refuse it alike).
 */
export function requestRefused(
  message: string,
  param: string | null | undefined,
  code = 'unsupported_parameter',
): UpstreamError {
  return new UpstreamError('client_error', message, {
    status: 400,
    clientError: { message, type: 'invalid_request_error', param: param ?? null, code },
  });
}

/** Maps whatever a request threw (undici errors, aborts, parse errors) to an UpstreamError. */
export function toUpstreamError(err: unknown, signal: CancelSignal): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (signal.aborted || isCancellation(err)) return new UpstreamError('cancelled', 'cancelled');
  const code = (err as { code?: unknown } | null)?.code;
  if (TIMEOUT_CODES.has(code)) return new UpstreamError('timeout', 'timeout');
  if (err instanceof SyntaxError)
    return new UpstreamError('invalid_response', 'invalid JSON from provider');
  return new UpstreamError(
    'connection',
    typeof code === 'string' ? `connection error (${code})` : 'connection error',
  );
}
