/**
 * A per-provider circuit breaker. After `failureThreshold` consecutive failures that say the
 * provider is unwell it refuses traffic for `openMs`, then admits up to `halfOpenMaxTrials`
 * concurrent trial requests: a success closes it, a counted failure opens it again.
 *
 * Pure state, no timers: `open` turns into `half_open` lazily, the next time the state is
 * read, against the injected clock. Tests drive time by hand and nothing runs in the
 * background.
 *
 * NOTE: `tryAcquire()` hands out no token, so a verdict is applied to the state the breaker
 * is in when it arrives. A request admitted while closed that finishes after the breaker has
 * opened is ignored (the breaker does not extend or cut short its open period); one that
 * finishes while half-open is taken as evidence like a trial (a success closes, a counted
 * failure reopens). The trial counter never goes below zero.
 */
import type { FailureKind } from '../../upstream/index.js';
import { countsAgainstBreaker } from './failure-kind.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive counted failures that open a closed breaker; an integer >= 1. */
  failureThreshold: number;
  /** How long an open breaker refuses all traffic before admitting trials; >= 0. */
  openMs: number;
  /** Trials a half-open breaker lets run at once; an integer >= 1. */
  halfOpenMaxTrials: number;
  /** Monotonic clock in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
  /**
   * Called after every transition, with the new state already in place (reading `state`
   * inside the callback returns `to`). For metrics and logs; it must not throw.
   */
  onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

export class CircuitBreaker {
  readonly #failureThreshold: number;
  readonly #openMs: number;
  readonly #halfOpenMaxTrials: number;
  readonly #now: () => number;
  readonly #onStateChange: ((from: BreakerState, to: BreakerState) => void) | undefined;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trials = 0;

  constructor(options: CircuitBreakerOptions) {
    const { failureThreshold, openMs, halfOpenMaxTrials } = options;
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be an integer >= 1, got ${failureThreshold}`);
    }
    if (!(openMs >= 0)) throw new RangeError(`openMs must be >= 0, got ${openMs}`);
    if (!Number.isInteger(halfOpenMaxTrials) || halfOpenMaxTrials < 1) {
      throw new RangeError(`halfOpenMaxTrials must be an integer >= 1, got ${halfOpenMaxTrials}`);
    }
    this.#failureThreshold = failureThreshold;
    this.#openMs = openMs;
    this.#halfOpenMaxTrials = halfOpenMaxTrials;
    this.#now = options.now ?? (() => performance.now());
    this.#onStateChange = options.onStateChange;
  }

  /** The current state; reading it is what turns `open` into `half_open` once `openMs` passed. */
  get state(): BreakerState {
    return this.#refresh();
  }

  /** Counted failures since the last success (kinds that do not count leave it alone). */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /**
   * Asks to send one request. Closed: yes. Open: no. Half-open: yes while fewer than
   * `halfOpenMaxTrials` trials are in flight, and the caller now holds a trial slot that it
   * must end with `onSuccess()`, `onFailure()` or `release()`.
   */
  tryAcquire(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half_open':
        if (this.#trials >= this.#halfOpenMaxTrials) return false;
        this.#trials += 1;
        return true;
    }
  }

  /** The provider answered well: clears the failure count; a half-open breaker closes. */
  onSuccess(): void {
    const state = this.state;
    if (state === 'open') return;
    this.#failures = 0;
    if (state === 'half_open') {
      this.#trials = 0;
      this.#transition('closed');
    }
  }

  /**
   * The provider failed. Kinds that count (see `countsAgainstBreaker`) open a closed breaker
   * at the threshold and reopen a half-open one at once, restarting `openMs`. Other kinds
   * change nothing, except that they end a half-open trial (its slot is freed).
   */
  onFailure(kind: FailureKind): void {
    const state = this.state;
    if (state === 'open') return;
    if (!countsAgainstBreaker(kind)) {
      this.#endTrial();
      return;
    }
    this.#failures += 1;
    if (state === 'half_open' || this.#failures >= this.#failureThreshold) this.#open();
  }

  /**
   * Ends a request that produced no verdict (e.g. cancelled as a race loser) so a half-open
   * trial slot is never lost. A no-op when closed or open.
   */
  release(): void {
    this.#refresh();
    this.#endTrial();
  }

  #refresh(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#openMs) {
      this.#trials = 0;
      this.#transition('half_open');
    }
    return this.#state;
  }

  #endTrial(): void {
    if (this.#state === 'half_open' && this.#trials > 0) this.#trials -= 1;
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#trials = 0;
    this.#transition('open');
  }

  #transition(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#onStateChange?.(from, to);
  }
}
