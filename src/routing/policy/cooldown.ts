/**
 * Rate-limit cooldowns: a provider that answered 429 with a Retry-After is left alone until
 * then, by every request, not only the one that was told. Without this each request learns
 * the limit afresh (one 429 each, plus a retry each when the wait is short enough), so a
 * rate-limited provider saw twice the load it was asked to shed.
 *
 * Pure state, no timers: a cooldown is an end time on the injected clock, compared when a
 * request asks. Tests drive time by hand and nothing runs in the background.
 *
 * A cooldown only ever grows: a shorter Retry-After arriving late (a request sent before the
 * longer one came back) does not cut it short.
 */
import type { FailureKind } from './failure-kind.js';

export interface CooldownOptions {
  /**
   * The longest cooldown kept, whatever the provider asks (a provider asking for a day is
   * probed again after this). 0 remembers nothing.
   */
  maxMs: number;
  /** Monotonic clock in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
}

/**
 * The cooldown a failure asks for, in milliseconds, or undefined for none: a rate limit
 * (429) that says when to come back, capped at `maxMs`. A 429 without Retry-After says
 * nothing about how long, and a 503's Retry-After is about an outage the breaker handles.
 */
export function cooldownFor(
  kind: FailureKind,
  retryAfterMs: number | undefined,
  maxMs: number,
): number | undefined {
  if (kind !== 'rate_limited' || retryAfterMs === undefined) return undefined;
  const ms = Math.min(retryAfterMs, maxMs);
  return ms > 0 ? ms : undefined;
}

export class Cooldowns {
  readonly #maxMs: number;
  readonly #now: () => number;
  /** Provider name -> end of its cooldown on `#now`'s clock. Expired ends are dropped lazily. */
  readonly #until = new Map<string, number>();

  constructor(options: CooldownOptions) {
    if (!(options.maxMs >= 0)) throw new RangeError(`maxMs must be >= 0, got ${options.maxMs}`);
    this.#maxMs = options.maxMs;
    this.#now = options.now ?? (() => performance.now());
  }

  get maxMs(): number {
    return this.#maxMs;
  }

  /**
   * `provider` should not be asked for `ms` from now (capped at `maxMs`). Returns true when
   * that moved its cooldown's end later; false when it was already cooling down as long.
   */
  note(provider: string, ms: number): boolean {
    const capped = Math.min(ms, this.#maxMs);
    if (!(capped > 0)) return false;
    const until = this.#now() + capped;
    if (until <= (this.#until.get(provider) ?? -Infinity)) return false;
    this.#until.set(provider, until);
    return true;
  }

  /** Milliseconds until `provider` may be asked again; 0 when it is not cooling down. */
  remainingMs(provider: string): number {
    const until = this.#until.get(provider);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left > 0) return left;
    this.#until.delete(provider);
    return 0;
  }
}

/**
 * Timers fire on libuv's whole-millisecond clock: a 100 ms timer was measured firing 0.6 ms
 * before `performance.now()` had moved 100 ms. A wait for a cooldown's end adds this much,
 * so the try it precedes is not refused for a fraction of a millisecond.
 */
export const TIMER_SLACK_MS = 1;

/**
 * How long to wait before retrying the same provider: the retry policy's `delayMs`, or until
 * the provider's cooldown ends (plus the timer slack) when that is later, since a try is
 * refused while it lasts. Undefined (do not retry; fall back now) when the cooldown has more
 * than `maxDelayMs` left: another replica or request was told to stay away longer than this
 * request is willing to wait.
 */
export function retryWaitMs(
  delayMs: number,
  coolingMs: number,
  maxDelayMs: number,
): number | undefined {
  if (coolingMs <= 0) return delayMs;
  if (coolingMs > maxDelayMs) return undefined;
  return Math.max(delayMs, Math.ceil(coolingMs) + TIMER_SLACK_MS);
}
