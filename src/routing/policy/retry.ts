/**
 * Whether and when to try the same provider again. Pure arithmetic; the runner does the
 * waiting (with `sleep(ms, signal)`) and passes a seeded `random` in tests.
 *
 * Attempts are numbered from 1: `attempt` is how many attempts on this provider have
 * already been made (and failed) when the question is asked.
 */
import type { FailureKind } from '../../upstream/index.js';
import { isRetryable } from './failure-kind.js';

export interface BackoffOptions {
  /** Upper bound of the first delay. */
  baseDelayMs: number;
  /** No delay exceeds this, nor does a Retry-After we are willing to wait for. */
  maxDelayMs: number;
}

/**
 * Another attempt on the same provider is worth making: the failure is retryable, attempts
 * remain, and nothing has been streamed to the client yet. After the first byte the client
 * already holds part of one answer; a retry would splice a second answer onto it.
 */
export function shouldRetry(input: {
  attempt: number;
  maxAttempts: number;
  kind: FailureKind;
  streamedBytes: boolean;
}): boolean {
  return !input.streamedBytes && isRetryable(input.kind) && input.attempt < input.maxAttempts;
}

/**
 * Exponential backoff with full jitter: a uniform draw between 0 and
 * min(maxDelayMs, baseDelayMs * 2^(attempt-1)), rounded down to whole milliseconds. Full jitter spreads clients that
 * failed together, so they do not return together.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  }
  if (!(opts.baseDelayMs >= 0) || !(opts.maxDelayMs >= 0)) {
    throw new RangeError(`delays must be >= 0, got ${opts.baseDelayMs}/${opts.maxDelayMs}`);
  }
  // 2 ** 1100 is Infinity; Math.min still yields the cap.
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  // Clamped so a misbehaving `random` cannot push the delay past the cap.
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}

/**
 * How long to wait before attempt `attempt + 1` on the same provider, or undefined for "do
 * not retry this provider now; fall back to the next one". Undefined when the kind is not
 * retryable, or when the provider asked (Retry-After) for a longer wait than `maxDelayMs`:
 * another provider serves the client sooner than a long wait would. A Retry-After within
 * the bound is honoured exactly; without one, `backoffDelay`.
 */
export function retryDelay(
  attempt: number,
  kind: FailureKind,
  retryAfterMs: number | undefined,
  opts: BackoffOptions,
  random?: () => number,
): number | undefined {
  if (!isRetryable(kind)) return undefined;
  if (retryAfterMs !== undefined) {
    return retryAfterMs <= opts.maxDelayMs ? Math.max(0, retryAfterMs) : undefined;
  }
  return backoffDelay(attempt, opts, random);
}
