import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './body.js';

const nested = (depth: number): object =>
  JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as object;

describe('nestedDeeperThan', () => {
  it('counts the root as level 1 and accepts a body exactly at the limit', () => {
    expect(nestedDeeperThan({}, 1)).toBe(false);
    expect(nestedDeeperThan({ a: {} }, 1)).toBe(true);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('finds depth in any branch, through objects and arrays alike', () => {
    const body = { model: 'm', messages: [{ content: 'x' }], extra: { a: [{ b: [[[1]]] }] } };
    expect(nestedDeeperThan(body, 7)).toBe(false);
    expect(nestedDeeperThan(body, 6)).toBe(true);
  });

  it('survives hostile depth that recursion would not (no stack overflow)', () => {
    expect(nestedDeeperThan(nested(200_000), MAX_JSON_DEPTH)).toBe(true);
  });
});
