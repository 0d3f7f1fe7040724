/**
 * The vocabulary of upstream failures, and what each kind means to the fallback engine:
 * whether it says the provider is unwell (counts against its circuit breaker) and whether
 * another try could succeed (retryable). The breaker and the retry policy both read these
 * definitions, so the two never disagree about what a failure means.
 */

/** Every kind, in a fixed order; also a closed vocabulary for metric labels. */
export const FAILURE_KINDS = [
  'server_error',
  'timeout',
  'connection',
  'invalid_response',
  'rate_limited',
  'client_error',
  'cancelled',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

// The provider itself is unwell. A malformed body from a 200 is treated like a 5xx: the
// upstream answered but could not do its job.
const COUNTED: ReadonlySet<FailureKind> = new Set([
  'server_error',
  'timeout',
  'connection',
  'invalid_response',
]);

// Worth another try. A 4xx repeats identically, and a cancelled attempt was stopped by us.
const RETRYABLE: ReadonlySet<FailureKind> = new Set([...COUNTED, 'rate_limited']);

/**
 * Whether a failure of this kind moves a circuit breaker. 4xx (the request's fault),
 * cancellation (our decision, e.g. a race loser) and rate limiting (the provider is healthy,
 * just busy; opening the breaker would turn a short throttle into `openMs` of no traffic)
 * never count.
 */
export function countsAgainstBreaker(kind: FailureKind): boolean {
  return COUNTED.has(kind);
}

/** Whether another attempt (on this provider or the next) could succeed. */
export function isRetryable(kind: FailureKind): boolean {
  return RETRYABLE.has(kind);
}

/**
 * The kind of an upstream error status. 408 and 504 are timeouts (so a request whose every
 * attempt timed out answers 504); 429 is rate limiting; other 4xx are client errors; other
 * 5xx server errors. Anything outside 400-599 is not an error status an upstream should have
 * answered with, so it is an invalid response.
 */
export function classifyStatus(status: number): FailureKind {
  if (status === 408 || status === 504) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 400 && status <= 499) return 'client_error';
  if (status >= 500 && status <= 599) return 'server_error';
  return 'invalid_response';
}
