import { describe, expect, it } from 'vitest';
import {
  bucketId,
  bucketPolicy,
  createRateLimiter,
  refill,
  takeToken,
  waitForToken,
  type Bucket,
} from './rate-limit.js';

/** A clock the test moves by hand (milliseconds). */
function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('token bucket math', () => {
  const policy = bucketPolicy(60, 3); // one token per second, three at most

  it('takes one token per request while there are any', () => {
    const b: Bucket = { tokens: 3, at: 0 };
    expect(takeToken(b, 0, policy)).toBeUndefined();
    expect(takeToken(b, 0, policy)).toBeUndefined();
    expect(takeToken(b, 0, policy)).toBeUndefined();
    expect(b.tokens).toBe(0);
  });

  it('answers an empty bucket with the seconds until the next whole token', () => {
    const b: Bucket = { tokens: 0, at: 0 };
    expect(takeToken(b, 0, policy)).toBe(1);
    expect(takeToken(b, 250, policy)).toBeCloseTo(0.75, 9);
    expect(b.tokens).toBeCloseTo(0.25, 9);
  });

  it('refills at requestsPerMinute / 60 tokens per second', () => {
    const b: Bucket = { tokens: 0, at: 0 };
    refill(b, 1_500, policy);
    expect(b.tokens).toBeCloseTo(1.5, 9);
    const slow = bucketPolicy(6, 1); // one token per ten seconds
    const s: Bucket = { tokens: 0, at: 0 };
    refill(s, 5_000, slow);
    expect(s.tokens).toBeCloseTo(0.5, 9);
    expect(waitForToken(s, slow)).toBeCloseTo(5, 9);
  });

  it('never holds more than burst tokens, however long it was idle', () => {
    const b: Bucket = { tokens: 1, at: 0 };
    refill(b, 3_600_000, policy);
    expect(b.tokens).toBe(3);
  });

  it('adds nothing when the clock goes backwards', () => {
    const b: Bucket = { tokens: 1, at: 10_000 };
    refill(b, 5_000, policy);
    expect(b).toEqual({ tokens: 1, at: 10_000 });
  });

  it('defaults burst to requestsPerMinute', () => {
    expect(bucketPolicy(120)).toEqual({ ratePerSecond: 2, burst: 120 });
  });
});

describe('bucketId', () => {
  it('is a stable digest that never contains the key', () => {
    const key = 'sk-proxy-very-distinctive-key-123';
    const id = bucketId(key);
    expect(id).toBe(bucketId(key));
    expect(id).not.toContain(key);
    expect(id).not.toContain('distinctive');
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(bucketId('another-key')).not.toBe(id);
  });
});

describe('createRateLimiter (memory)', () => {
  it('allows burst requests at once, then refuses with Retry-After seconds', () => {
    const clock = manualClock();
    const limit = createRateLimiter({ requestsPerMinute: 60, burst: 3, now: clock.now });
    expect([limit('k'), limit('k'), limit('k')]).toEqual([undefined, undefined, undefined]);
    expect(limit('k')).toBe(1);
    clock.advance(400);
    expect(limit('k')).toBeCloseTo(0.6, 9);
    clock.advance(600);
    expect(limit('k')).toBeUndefined();
    expect(limit('k')).toBe(1);
  });

  it('keeps a separate budget per key', () => {
    const clock = manualClock();
    const limit = createRateLimiter({ requestsPerMinute: 60, burst: 1, now: clock.now });
    expect(limit('a')).toBeUndefined();
    expect(limit('a')).toBe(1);
    expect(limit('b')).toBeUndefined();
  });

  it('sustains exactly requestsPerMinute over a minute once the burst is spent', () => {
    const clock = manualClock();
    const limit = createRateLimiter({ requestsPerMinute: 120, burst: 10, now: clock.now });
    let allowed = 0;
    // One attempt every 100 ms for 60 s: 10 from the burst + 120 refilled (the last at t=60s).
    for (let i = 0; i <= 600; i++) {
      if (limit('k') === undefined) allowed++;
      clock.advance(100);
    }
    expect(allowed).toBe(130);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used (a forgotten key starts full)', () => {
    const clock = manualClock();
    const limit = createRateLimiter({ requestsPerMinute: 1, burst: 1, maxKeys: 2, now: clock.now });
    expect(limit('a')).toBeUndefined();
    expect(limit('b')).toBeUndefined();
    expect(limit('a')).toBeGreaterThan(0); // 'a' used last, 'b' is now the oldest
    expect(limit('c')).toBeUndefined(); // evicts 'b'
    expect(limit('a')).toBeGreaterThan(0); // 'a' was kept
    expect(limit('b')).toBeUndefined(); // 'b' was forgotten
  });

  it('answers synchronously when no Redis is given', () => {
    const limit = createRateLimiter({ requestsPerMinute: 60 });
    expect(limit('k')).not.toBeInstanceOf(Promise);
  });
});
