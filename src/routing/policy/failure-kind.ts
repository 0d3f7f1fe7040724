/**
 * What each kind of upstream failure (upstream/failure-kind.ts) means to the fallback engine:
 * whether it says the provider is unwell (counts against its circuit breaker) and whether
 * another try could succeed (retryable). The breaker and the retry policy both read these
 * definitions, so the two never disagree about what a failure means.
 */
import type { FailureKind } from '../../upstream/index.js';

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
