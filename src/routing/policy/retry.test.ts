import { describe, expect, it } from 'vitest';
import { backoffDelay, retryDelay, shouldRetry } from './retry.js';

const opts = { baseDelayMs: 100, maxDelayMs: 1_000 };

describe('shouldRetry', () => {
  const base = { attempt: 1, maxAttempts: 3, kind: 'server_error', streamedBytes: false } as const;

  it('retries a retryable failure while attempts remain', () => {
    expect(shouldRetry(base)).toBe(true);
    expect(shouldRetry({ ...base, attempt: 2 })).toBe(true);
  });

  it('stops once maxAttempts attempts have been made', () => {
    expect(shouldRetry({ ...base, attempt: 3 })).toBe(false);
    expect(shouldRetry({ ...base, attempt: 1, maxAttempts: 1 })).toBe(false);
  });

  it('never retries after the first streamed byte', () => {
    expect(shouldRetry({ ...base, streamedBytes: true })).toBe(false);
    expect(shouldRetry({ ...base, kind: 'timeout', streamedBytes: true })).toBe(false);
  });

  it.each(['timeout', 'connection', 'rate_limited', 'invalid_response'] as const)(
    'retries %s',
    (kind) => {
      expect(shouldRetry({ ...base, kind })).toBe(true);
    },
  );

  it.each(['client_error', 'cancelled'] as const)('never retries %s', (kind) => {
    expect(shouldRetry({ ...base, kind })).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('the ceiling doubles per attempt from baseDelayMs', () => {
    const top = () => 1;
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, opts, top))).toEqual([100, 200, 400, 800]);
  });

  it('the ceiling is capped at maxDelayMs, even for huge attempt numbers', () => {
    const top = () => 1;
    expect(backoffDelay(5, opts, top)).toBe(1_000);
    expect(backoffDelay(2_000, opts, top)).toBe(1_000);
  });

  it('full jitter: the draw scales the ceiling, from zero up', () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(200);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(399);
  });

  it('stays within [0, ceiling] whatever random returns', () => {
    expect(backoffDelay(1, opts, () => -3)).toBe(0);
    expect(backoffDelay(1, opts, () => 7)).toBe(100);
  });

  it('stays within bounds for Math.random over many draws', () => {
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelay(4, opts);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(800);
      expect(Number.isInteger(delay)).toBe(true);
    }
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects attempt %d', (attempt) => {
    expect(() => backoffDelay(attempt, opts)).toThrow(RangeError);
  });

  it('rejects negative delays', () => {
    expect(() => backoffDelay(1, { baseDelayMs: -1, maxDelayMs: 10 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { baseDelayMs: 1, maxDelayMs: -10 })).toThrow(RangeError);
  });
});

describe('retryDelay', () => {
  it('honours a Retry-After within maxDelayMs exactly, ignoring backoff', () => {
    expect(retryDelay(1, 'rate_limited', 750, opts, () => 0)).toBe(750);
    expect(retryDelay(4, 'server_error', 0, opts, () => 1)).toBe(0);
    expect(retryDelay(1, 'rate_limited', 1_000, opts)).toBe(1_000);
  });

  it('a Retry-After longer than maxDelayMs means fall back instead of waiting', () => {
    expect(retryDelay(1, 'rate_limited', 1_001, opts)).toBeUndefined();
    expect(retryDelay(1, 'server_error', 60_000, opts)).toBeUndefined();
  });

  it('without Retry-After, backs off', () => {
    expect(retryDelay(2, 'timeout', undefined, opts, () => 0.5)).toBe(100);
  });

  it.each(['client_error', 'cancelled'] as const)('never retries %s', (kind) => {
    expect(retryDelay(1, kind, undefined, opts)).toBeUndefined();
    expect(retryDelay(1, kind, 10, opts)).toBeUndefined();
  });
});
