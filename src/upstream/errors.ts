/**
 * What a provider call can fail with, classified once at the adapter edge so the fallback
 * engine, breaker and metrics all read the same kind. Messages are short status lines built
 * by us (never the upstream body verbatim, which could echo a key).
 */
import { isCancellation } from '../tasks/errors.js';
import type { CancelSignal } from '../tasks/cancellation.js';
import { classifyStatus, type FailureKind } from './failure-kind.js';

// undici's timeout errors (HeadersTimeoutError, BodyTimeoutError, ConnectTimeoutError), by
// their stable codes: the contract stays free of the transport library.
const TIMEOUT_CODES: ReadonlySet<unknown> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  /** Expected failures are reported at debug level, not as task errors. */
  readonly expected = true;
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    /** The upstream's own error body for 4xx, already in OpenAI shape, to pass through. */
    readonly clientBody?: string,
  ) {
    super(message);
  }
}

export function statusError(
  status: number,
  retryAfterMs?: number,
  clientBody?: string,
): UpstreamError {
  return new UpstreamError(
    classifyStatus(status),
    `HTTP ${status}`,
    status,
    retryAfterMs,
    clientBody,
  );
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
