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

  it("round-trips a failed probe's reason, status and code", () => {
    const failure = { status: 401, code: 'invalid_api_key', reason: 'HTTP 401: Incorrect key.' };
    expect(decodeResult(encodeResult({ ok: false, failure }, 3_000, 'c'))).toEqual({
      ok: false,
      latencyMs: null,
      at: 3_000,
      by: 'c',
      failure,
    });
    const news = newsFrom(
      decodeResult(encodeResult({ ok: false, failure }, 3_000, 'c')),
      undefined,
      3_100,
      400,
    );
    expect(news).toEqual({ ok: false, failure });
  });

  it('reads a failure without its reason as a failure without details', () => {
    const text = '{"ok":false,"latencyMs":null,"at":1,"by":"a","failure":{"status":"401"}}';
    expect(decodeResult(text)).toEqual({ ok: false, latencyMs: null, at: 1, by: 'a' });
    const cut = decodeResult(
      JSON.stringify({
        ok: false,
        latencyMs: null,
        at: 1,
        by: 'a',
        failure: { reason: 'x'.repeat(5_000), status: 4.5 },
      }),
    );
    expect(cut?.failure).toEqual({ reason: 'x'.repeat(400) });
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
