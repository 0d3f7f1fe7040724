import { describe, expect, it } from 'vitest';
import { MAX_RECONNECT_DELAY_MS, reconnectDelay, redactRedisUrl } from './redis.js';

describe('reconnectDelay', () => {
  it('backs off exponentially and never gives up', () => {
    expect(reconnectDelay(1)).toBeLessThan(reconnectDelay(2));
    expect(reconnectDelay(2)).toBeLessThan(reconnectDelay(3));
    expect(typeof reconnectDelay(10_000)).toBe('number');
  });

  it('waits at most 2 s between attempts', () => {
    for (const attempt of [1, 5, 6, 10, 100, 10_000]) {
      expect(reconnectDelay(attempt)).toBeLessThanOrEqual(MAX_RECONNECT_DELAY_MS);
    }
    expect(reconnectDelay(100)).toBe(2_000);
  });
});

describe('redactRedisUrl', () => {
  it('hides the password and keeps what helps an operator', () => {
    const shown = redactRedisUrl('redis://app:s3cret@cache.internal:6380/2');
    expect(shown).not.toContain('s3cret');
    expect(shown).toContain('app');
    expect(shown).toContain('cache.internal:6380');
  });

  it('never echoes an unparseable URL, which could hold a password', () => {
    expect(redactRedisUrl('::s3cret::')).not.toContain('s3cret');
  });
});
