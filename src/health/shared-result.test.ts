import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult, newsFrom, sharedHealthKeys } from './shared-result.js';

describe('shared health keys', () => {
  it('put the schema version and the provider in the lock and result keys', () => {
    const keys = sharedHealthKeys('llmp');
    expect(keys.lock('primary')).toBe('llmp:v1:health:lock:primary');
    expect(keys.result('primary')).toBe('llmp:v1:health:result:primary');
  });
});

describe('published result wire form', () => {
  it('round-trips a good and a failed probe', () => {
    expect(decodeResult(encodeResult({ ok: true, latencyMs: 12.345 }, 1_000, 'a'))).toEqual({
      ok: true,
      latencyMs: 12.3,
      at: 1_000,
      by: 'a',
    });
    expect(decodeResult(encodeResult({ ok: false }, 2_000, 'b'))).toEqual({
      ok: false,
      latencyMs: null,
      at: 2_000,
      by: 'b',
    });
  });

  it.each([
    ['absent', null],
    ['not JSON', '{"ok":'],
    ['an array', '[]'],
    ['no ok flag', '{"latencyMs":1,"at":1,"by":"a"}'],
    ['no publisher', '{"ok":false,"latencyMs":null,"at":1}'],
    ['no time', '{"ok":false,"latencyMs":null,"by":"a"}'],
    ['a good probe without latency', '{"ok":true,"latencyMs":null,"at":1,"by":"a"}'],
    ['a negative latency', '{"ok":true,"latencyMs":-1,"at":1,"by":"a"}'],
  ])('treats %s as no result', (_name, text) => {
    expect(decodeResult(text)).toBeUndefined();
  });
});

describe('newsFrom', () => {
  const good = { ok: true, latencyMs: 20, at: 10_000, by: 'a' };

  it('turns a fresh result into a probe result', () => {
    expect(newsFrom(good, undefined, 10_100, 400)).toEqual({ ok: true, latencyMs: 20 });
    expect(newsFrom({ ...good, ok: false, latencyMs: null }, undefined, 10_100, 400)).toEqual({
      ok: false,
    });
  });

  it('is no news when there is no result', () => {
    expect(newsFrom(undefined, undefined, 10_100, 400)).toBeUndefined();
  });

  it('is no news when the result is older than the max age (its publisher stopped)', () => {
    expect(newsFrom(good, undefined, 10_400, 400)).toBeDefined();
    expect(newsFrom(good, undefined, 10_401, 400)).toBeUndefined();
  });

  it('is no news when it is the result already used, so one probe counts once', () => {
    expect(newsFrom(good, { ...good }, 10_100, 400)).toBeUndefined();
    expect(newsFrom({ ...good, at: 10_050 }, good, 10_100, 400)).toBeDefined();
    expect(newsFrom({ ...good, by: 'b' }, good, 10_100, 400)).toBeDefined();
  });
});
