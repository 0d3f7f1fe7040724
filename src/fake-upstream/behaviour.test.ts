import { describe, expect, it } from 'vitest';
import { chunkDelayFor, isBehaviour, planRequest, seededRandom } from './behaviour.js';

const BASE = {
  behaviour: 'ok' as const,
  failRate: 0,
  retryAfterSeconds: 1,
  forced: undefined,
  draw: 0.5,
};

describe('planRequest', () => {
  it('answers normally when nothing is forced, the draw misses and the behaviour is ok', () => {
    expect(planRequest(BASE)).toEqual({ kind: 'behaviour', behaviour: 'ok' });
  });

  it('puts a forced failure first, ahead of failRate and the behaviour', () => {
    const plan = planRequest({ ...BASE, behaviour: 'hang', failRate: 1, forced: { status: 503 } });
    expect(plan).toEqual({ kind: 'error', status: 503 });
  });

  it('gives a forced 429 the standing Retry-After unless it brings its own', () => {
    expect(planRequest({ ...BASE, retryAfterSeconds: 9, forced: { status: 429 } })).toEqual({
      kind: 'error',
      status: 429,
      retryAfterSeconds: 9,
    });
    expect(planRequest({ ...BASE, forced: { status: 429, retryAfterSeconds: 2 } })).toMatchObject({
      retryAfterSeconds: 2,
    });
  });

  it('fails with 500 when the draw falls under failRate', () => {
    expect(planRequest({ ...BASE, failRate: 0.3, draw: 0.29 })).toEqual({
      kind: 'error',
      status: 500,
    });
    expect(planRequest({ ...BASE, failRate: 0.3, draw: 0.3 }).kind).toBe('behaviour');
  });

  it("turns 'fail' into a 500 and 'rate_limit' into a 429 with Retry-After", () => {
    expect(planRequest({ ...BASE, behaviour: 'fail' })).toEqual({ kind: 'error', status: 500 });
    expect(planRequest({ ...BASE, behaviour: 'rate_limit', retryAfterSeconds: 5 })).toEqual({
      kind: 'error',
      status: 429,
      retryAfterSeconds: 5,
    });
  });
});

describe('chunkDelayFor', () => {
  it("is 0 by default, 200 ms for 'slow_stream', and an explicit setting always wins", () => {
    expect(chunkDelayFor('ok', undefined)).toBe(0);
    expect(chunkDelayFor('slow_stream', undefined)).toBe(200);
    expect(chunkDelayFor('slow_stream', 5)).toBe(5);
    expect(chunkDelayFor('ok', 30)).toBe(30);
  });
});

describe('seededRandom', () => {
  it('replays the same sequence for the same seed, within [0, 1)', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    const seqA = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 100 }, seededRandom(4))).not.toEqual(seqA);
  });
});

describe('isBehaviour', () => {
  it('accepts the listed behaviours only', () => {
    expect(isBehaviour('reset_mid_stream')).toBe(true);
    expect(isBehaviour('explode')).toBe(false);
  });
});
