import { describe, expect, it } from 'vitest';
import { cooldownFor, Cooldowns, retryWaitMs, TIMER_SLACK_MS } from './cooldown.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('cooldownFor', () => {
  it("is a 429's Retry-After", () => {
    expect(cooldownFor('rate_limited', 2_000, 60_000)).toBe(2_000);
  });

  it('is capped at maxMs: a provider asking for a day is asked again sooner', () => {
    expect(cooldownFor('rate_limited', 86_400_000, 60_000)).toBe(60_000);
  });

  it('is none for a 429 without Retry-After, or with Retry-After 0', () => {
    expect(cooldownFor('rate_limited', undefined, 60_000)).toBeUndefined();
    expect(cooldownFor('rate_limited', 0, 60_000)).toBeUndefined();
  });

  it('is none for other failures, even with a Retry-After (a 503 is the breaker’s business)', () => {
    expect(cooldownFor('server_error', 5_000, 60_000)).toBeUndefined();
    expect(cooldownFor('timeout', 5_000, 60_000)).toBeUndefined();
  });

  it('is none when maxMs is 0 (cooldowns off)', () => {
    expect(cooldownFor('rate_limited', 2_000, 0)).toBeUndefined();
  });
});

describe('Cooldowns', () => {
  it('a provider is not cooling down until noted', () => {
    const c = new Cooldowns({ maxMs: 60_000, now: manualClock().now });
    expect(c.remainingMs('a')).toBe(0);
  });

  it('counts down on the injected clock and ends exactly at the noted time', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    expect(c.note('a', 2_000)).toBe(true);
    expect(c.remainingMs('a')).toBe(2_000);
    clock.advance(1_500);
    expect(c.remainingMs('a')).toBe(500);
    clock.advance(499);
    expect(c.remainingMs('a')).toBe(1);
    clock.advance(1);
    expect(c.remainingMs('a')).toBe(0);
    expect(c.remainingMs('b')).toBe(0);
  });

  it('keeps providers apart', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 1_000);
    c.note('b', 3_000);
    clock.advance(2_000);
    expect(c.remainingMs('a')).toBe(0);
    expect(c.remainingMs('b')).toBe(1_000);
  });

  it('only grows: a shorter Retry-After arriving later does not cut a cooldown short', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 10_000);
    clock.advance(1_000);
    expect(c.note('a', 2_000)).toBe(false);
    expect(c.remainingMs('a')).toBe(9_000);
    expect(c.note('a', 20_000)).toBe(true);
    expect(c.remainingMs('a')).toBe(20_000);
  });

  it('caps a cooldown at maxMs', () => {
    const c = new Cooldowns({ maxMs: 5_000, now: manualClock().now });
    expect(c.note('a', 86_400_000)).toBe(true);
    expect(c.remainingMs('a')).toBe(5_000);
  });

  it('notes nothing when maxMs is 0, or for a wait of 0 or less', () => {
    const off = new Cooldowns({ maxMs: 0, now: manualClock().now });
    expect(off.note('a', 2_000)).toBe(false);
    expect(off.remainingMs('a')).toBe(0);
    const on = new Cooldowns({ maxMs: 60_000, now: manualClock().now });
    expect(on.note('a', 0)).toBe(false);
    expect(on.note('a', -5)).toBe(false);
    expect(on.note('a', Number.NaN)).toBe(false);
    expect(on.remainingMs('a')).toBe(0);
  });

  it('a provider can cool down again after its cooldown ended', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 1_000);
    clock.advance(1_000);
    expect(c.remainingMs('a')).toBe(0);
    expect(c.note('a', 500)).toBe(true);
    expect(c.remainingMs('a')).toBe(500);
  });

  it('a provider never noted is always admitted', () => {
    const c = new Cooldowns({ maxMs: 60_000, now: manualClock().now });
    expect(c.tryAcquire('a')).toBe(true);
    expect(c.tryAcquire('a')).toBe(true);
  });

  it('refuses while cooling down; after it, admits one trial and refuses the rest until it settles', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 2_000);
    expect(c.tryAcquire('a')).toBe(false);
    clock.advance(2_000);
    expect(c.remainingMs('a')).toBe(0);
    expect(c.tryAcquire('a')).toBe(true);
    // The trial is out: the others wait for its answer, for at most one cooldown length.
    expect(c.remainingMs('a')).toBe(2_000);
    expect(c.tryAcquire('a')).toBe(false);
    clock.advance(300);
    c.settle('a');
    expect(c.remainingMs('a')).toBe(0);
    expect(c.tryAcquire('a')).toBe(true);
    expect(c.tryAcquire('a')).toBe(true);
  });

  it('a trial answered 429 with Retry-After starts the next cooldown', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 1_000);
    clock.advance(1_000);
    expect(c.tryAcquire('a')).toBe(true);
    clock.advance(50);
    expect(c.note('a', 3_000)).toBe(true);
    expect(c.remainingMs('a')).toBe(3_000);
    expect(c.tryAcquire('a')).toBe(false);
  });

  it('a trial that never settles holds the provider for one cooldown length, then another is admitted', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    c.note('a', 1_000);
    clock.advance(1_000);
    expect(c.tryAcquire('a')).toBe(true);
    clock.advance(999);
    expect(c.tryAcquire('a')).toBe(false);
    clock.advance(1);
    expect(c.tryAcquire('a')).toBe(true);
    expect(c.tryAcquire('a')).toBe(false);
  });

  it('a request admitted before the cooldown and settling during it ends nothing', () => {
    const clock = manualClock();
    const c = new Cooldowns({ maxMs: 60_000, now: clock.now });
    expect(c.tryAcquire('a')).toBe(true);
    c.note('a', 2_000);
    clock.advance(500);
    c.settle('a');
    expect(c.remainingMs('a')).toBe(1_500);
    expect(c.tryAcquire('a')).toBe(false);
  });

  it('rejects a negative maxMs', () => {
    expect(() => new Cooldowns({ maxMs: -1 })).toThrow(RangeError);
  });
});

describe('retryWaitMs', () => {
  it('is the retry delay when the provider is not cooling down', () => {
    expect(retryWaitMs(150, 0, 2_000)).toBe(150);
  });

  it('waits for the cooldown to end, plus the timer slack, when that is later', () => {
    expect(retryWaitMs(150, 1_999.4, 2_000)).toBe(2_000 + TIMER_SLACK_MS);
  });

  it('keeps a longer retry delay', () => {
    expect(retryWaitMs(1_500, 300, 2_000)).toBe(1_500);
  });

  it('does not retry when the cooldown has more than maxDelayMs left', () => {
    expect(retryWaitMs(150, 2_000.5, 2_000)).toBeUndefined();
  });
});
