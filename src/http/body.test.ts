import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { MAX_JSON_DEPTH, hasBody, nestedDeeperThan, parseJsonObject } from './body.js';

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

describe('hasBody', () => {
  const req = (headers: Record<string, string>): IncomingMessage =>
    ({ headers }) as unknown as IncomingMessage;

  it('is true when the message frames a body: a length over 0, or chunks', () => {
    expect(hasBody(req({ 'content-length': '12' }))).toBe(true);
    expect(hasBody(req({ 'transfer-encoding': 'chunked' }))).toBe(true);
    expect(hasBody(req({ 'content-length': '0' }))).toBe(false);
    expect(hasBody(req({}))).toBe(false);
  });
});

describe('parseJsonObject', () => {
  it('returns the object and its exact text', () => {
    const text = '{"seed": 9007199254740993}';
    const parsed = parseJsonObject(Buffer.from(text), 'application/json');
    expect(parsed.text).toBe(text);
    expect(parsed.value).toEqual({ seed: 9007199254740992 });
  });

  it('reads no body as an empty one: a 400 naming what to send', () => {
    expect(() => parseJsonObject(undefined, undefined)).toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_json' }),
    );
    expect(() => parseJsonObject(undefined, undefined)).toThrow(/no Content-Type was sent/);
  });

  it('refuses JSON that is not an object', () => {
    expect(() => parseJsonObject(Buffer.from('[1]'), 'application/json')).toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_request_body' }),
    );
  });
});
