/**
 * The vocabulary of upstream failures, classified once at the adapter edge so the fallback
 * engine, breaker and metrics all read the same kind. What each kind means to the engine
 * (counted against the breaker, worth a retry) is routing policy: routing/policy/failure-kind.ts.
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
