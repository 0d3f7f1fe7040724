import { describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  type BreakerState,
  type CircuitBreakerOptions,
} from './circuit-breaker.js';
import type { FailureKind } from '../../upstream/index.js';

interface Rig {
  breaker: CircuitBreaker;
  advance(ms: number): void;
  changes: [BreakerState, BreakerState][];
}

function rig(options: Partial<CircuitBreakerOptions> = {}): Rig {
  let t = 1_000;
  const changes: [BreakerState, BreakerState][] = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 10_000,
    halfOpenMaxTrials: 2,
    now: () => t,
    onStateChange: (from, to) => changes.push([from, to]),
    ...options,
  });
  return { breaker, changes, advance: (ms) => (t += ms) };
}

function fail(breaker: CircuitBreaker, times: number, kind: FailureKind = 'server_error'): void {
  for (let i = 0; i < times; i++) breaker.onFailure(kind);
}

/** Opens the breaker, then lets `openMs` pass so the next read finds it half-open. */
function halfOpen(r: Rig): void {
  fail(r.breaker, 3);
  r.advance(10_000);
  expect(r.breaker.state).toBe('half_open');
}

describe('CircuitBreaker: closed', () => {
  it('starts closed and admits every request', () => {
    const { breaker } = rig();
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 50; i++) expect(breaker.tryAcquire()).toBe(true);
  });

  it.each(['server_error', 'timeout', 'connection', 'invalid_response'] as const)(
    'opens after failureThreshold consecutive %s failures, not before',
    (kind) => {
      const { breaker } = rig();
      fail(breaker, 2, kind);
      expect(breaker.state).toBe('closed');
      expect(breaker.consecutiveFailures).toBe(2);
      breaker.onFailure(kind);
      expect(breaker.state).toBe('open');
      expect(breaker.tryAcquire()).toBe(false);
    },
  );

  it('a success resets the consecutive failure count', () => {
    const { breaker } = rig();
    fail(breaker, 2);
    breaker.onSuccess();
    expect(breaker.consecutiveFailures).toBe(0);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it.each(['client_error', 'rate_limited', 'cancelled'] as const)(
    '%s never opens it, however many there are',
    (kind) => {
      const { breaker, changes } = rig();
      fail(breaker, 100, kind);
      expect(breaker.state).toBe('closed');
      expect(breaker.consecutiveFailures).toBe(0);
      expect(changes).toEqual([]);
    },
  );

  it('failures that do not count neither count nor break a run of counted ones', () => {
    const { breaker } = rig();
    fail(breaker, 2);
    breaker.onFailure('client_error');
    breaker.onFailure('rate_limited');
    expect(breaker.state).toBe('closed');
    breaker.onFailure('timeout');
    expect(breaker.state).toBe('open');
  });

  it('release() while closed changes nothing', () => {
    const { breaker, changes } = rig();
    fail(breaker, 2);
    breaker.release();
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(2);
    expect(changes).toEqual([]);
  });
});

describe('CircuitBreaker: open', () => {
  it('refuses requests until openMs has passed, then turns half-open', () => {
    const r = rig();
    fail(r.breaker, 3);
    r.advance(9_999);
    expect(r.breaker.tryAcquire()).toBe(false);
    expect(r.breaker.state).toBe('open');
    r.advance(1);
    expect(r.breaker.state).toBe('half_open');
  });

  it('turns half-open lazily: no transition is reported until the state is read', () => {
    const r = rig();
    fail(r.breaker, 3);
    r.advance(60_000);
    expect(r.changes).toEqual([['closed', 'open']]);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
    ]);
  });

  it('ignores verdicts of requests admitted before it opened', () => {
    const r = rig();
    fail(r.breaker, 3);
    r.advance(5_000);
    r.breaker.onSuccess();
    expect(r.breaker.state).toBe('open');
    fail(r.breaker, 5); // late failures do not restart the open period
    r.breaker.release();
    r.advance(5_000);
    expect(r.breaker.state).toBe('half_open');
    expect(r.changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
    ]);
  });

  it('with openMs 0 it is half-open as soon as it is read (default clock)', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 0, halfOpenMaxTrials: 1 });
    breaker.onFailure('connection');
    expect(breaker.state).toBe('half_open');
  });
});

describe('CircuitBreaker: half-open', () => {
  it('admits at most halfOpenMaxTrials trials at once', () => {
    const r = rig();
    halfOpen(r);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(false);
    expect(r.breaker.state).toBe('half_open');
  });

  it('release() frees a trial slot for the next request', () => {
    const r = rig();
    halfOpen(r);
    r.breaker.tryAcquire();
    r.breaker.tryAcquire();
    r.breaker.release();
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(false);
    expect(r.breaker.state).toBe('half_open');
  });

  it('extra release() calls never create slots beyond halfOpenMaxTrials', () => {
    const r = rig();
    halfOpen(r);
    r.breaker.tryAcquire();
    r.breaker.release();
    r.breaker.release();
    r.breaker.release();
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(false);
  });

  it('release() right after openMs applies the pending transition first', () => {
    const r = rig();
    fail(r.breaker, 3);
    r.advance(10_000);
    r.breaker.release();
    expect(r.changes.at(-1)).toEqual(['open', 'half_open']);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(false);
  });

  it.each(['client_error', 'rate_limited', 'cancelled'] as const)(
    'a %s trial frees its slot and leaves the breaker half-open',
    (kind) => {
      const r = rig();
      halfOpen(r);
      r.breaker.tryAcquire();
      r.breaker.tryAcquire();
      r.breaker.onFailure(kind);
      expect(r.breaker.state).toBe('half_open');
      expect(r.breaker.tryAcquire()).toBe(true);
      expect(r.breaker.tryAcquire()).toBe(false);
    },
  );

  it('a successful trial closes it and clears the failure count', () => {
    const r = rig();
    halfOpen(r);
    r.breaker.tryAcquire();
    r.breaker.onSuccess();
    expect(r.breaker.state).toBe('closed');
    expect(r.breaker.consecutiveFailures).toBe(0);
    for (let i = 0; i < 10; i++) expect(r.breaker.tryAcquire()).toBe(true);
    fail(r.breaker, 2);
    expect(r.breaker.state).toBe('closed');
  });

  it.each(['server_error', 'timeout', 'connection', 'invalid_response'] as const)(
    'a %s trial reopens it at once, restarting openMs',
    (kind) => {
      const r = rig();
      halfOpen(r);
      r.breaker.tryAcquire();
      r.advance(500);
      r.breaker.onFailure(kind);
      expect(r.breaker.state).toBe('open');
      expect(r.breaker.tryAcquire()).toBe(false);
      r.advance(9_999);
      expect(r.breaker.state).toBe('open');
      r.advance(1);
      expect(r.breaker.state).toBe('half_open');
    },
  );

  it('a new half-open period starts with every trial slot free', () => {
    const r = rig();
    halfOpen(r);
    r.breaker.tryAcquire();
    r.breaker.tryAcquire();
    r.breaker.onFailure('timeout'); // the other trial never reports back
    r.advance(10_000);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(true);
    expect(r.breaker.tryAcquire()).toBe(false);
  });
});

describe('CircuitBreaker: onStateChange', () => {
  it('reports every transition, in order, through a full cycle', () => {
    const r = rig();
    fail(r.breaker, 3);
    r.advance(10_000);
    r.breaker.tryAcquire();
    r.breaker.onFailure('server_error');
    r.advance(10_000);
    r.breaker.tryAcquire();
    r.breaker.onSuccess();
    expect(r.changes).toEqual([
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'open'],
      ['open', 'half_open'],
      ['half_open', 'closed'],
    ]);
  });

  it('is called with the new state already in place', () => {
    let t = 0;
    const seen: string[] = [];
    const breaker: CircuitBreaker = new CircuitBreaker({
      failureThreshold: 1,
      openMs: 1_000,
      halfOpenMaxTrials: 1,
      now: () => t,
      onStateChange: (from, to) => seen.push(`${from}->${to}:${breaker.state}`),
    });
    breaker.onFailure('server_error');
    t = 1_000;
    breaker.tryAcquire();
    breaker.onSuccess();
    expect(seen).toEqual([
      'closed->open:open',
      'open->half_open:half_open',
      'half_open->closed:closed',
    ]);
  });
});

describe('CircuitBreaker: options', () => {
  it.each([
    { failureThreshold: 0 },
    { failureThreshold: 1.5 },
    { openMs: -1 },
    { openMs: Number.NaN },
    { halfOpenMaxTrials: 0 },
    { halfOpenMaxTrials: 2.5 },
  ])('rejects %o', (bad) => {
    const options = { failureThreshold: 3, openMs: 1_000, halfOpenMaxTrials: 1, ...bad };
    expect(() => new CircuitBreaker(options)).toThrow(RangeError);
  });
});
