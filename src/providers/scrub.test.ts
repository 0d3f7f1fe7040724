import { describe, expect, it } from 'vitest';
import { createScrubber, encodedForms, MIN_SECRET_LENGTH, REDACTED } from './scrub.js';

const KEY = 'sk-test/SCRUBKEY+4fG7hJ2k';
const scrub = createScrubber([`Bearer ${KEY}`, KEY]);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const uEscape = (s: string): string =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

/** No trace of the key's distinctive middle, in any case. */
const clean = (text: string): boolean => !/SCRUBKEY/i.test(text);

/** No run of base64 in `text`, decoded at any of its 4 alignments, shows the key's middle. */
function cleanBase64(text: string): boolean {
  for (const run of text.match(/[A-Za-z0-9+/_-]{4,}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) {
      const bytes = Buffer.from(
        run.slice(skip).replaceAll('-', '+').replaceAll('_', '/'),
        'base64',
      );
      if (bytes.toString('latin1').includes('SCRUB')) return false;
    }
  }
  return true;
}

describe('createScrubber', () => {
  it('leaves a text without the key exactly as it was', () => {
    for (const text of [
      'max_tokens: too big',
      'C:\\new\\table at 100% \\u00e9t\\u00e9',
      '{"a":"b\\/c"} %zz %e2%82%ac',
      '',
    ]) {
      expect(scrub(text)).toBe(text);
    }
  });

  it('replaces the key verbatim, in any case, and "Bearer KEY" whole', () => {
    expect(scrub(`Authorization was 'Bearer ${KEY}'.`)).toBe(`Authorization was '${REDACTED}'.`);
    expect(scrub(`k=${KEY.toLowerCase()} K=${KEY.toUpperCase()}`)).toBe(
      `k=${REDACTED} K=${REDACTED}`,
    );
  });

  it('replaces the key behind JSON escapes and passes on the decoded text', () => {
    for (const escaped of [
      KEY.replace('/', '\\/'),
      uEscape(KEY),
      KEY.replace('s', '\\u0073'),
      uEscape(KEY).replaceAll('\\', '\\\\'), // escaped twice
    ]) {
      const out = scrub(`bad key ${escaped} (see docs\\/errors)`);
      expect(out).toBe(`bad key ${REDACTED} (see docs/errors)`);
    }
  });

  it('replaces the key percent-encoded, with either case of hex digits', () => {
    const encoded = encodeURIComponent(KEY);
    const all = [...Buffer.from(KEY)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    for (const form of [encoded, encoded.toLowerCase(), all, all.toUpperCase()]) {
      expect(scrub(`GET /v1?key=${form}&x=1`)).toBe(`GET /v1?key=${REDACTED}&x=1`);
    }
  });

  it('finds the key base64-encoded inside a longer text at each of the three offsets', () => {
    for (const prefix of ['', 'a', 'ab', 'Bearer ', 'user:']) {
      for (const suffix of ['', '!', 'xy']) {
        for (const encode of [b64, b64url]) {
          const text = `token=${encode(prefix + KEY + suffix)} end`;
          const out = scrub(text);
          expect(cleanBase64(out)).toBe(true);
          expect(out).toContain(REDACTED);
          expect(out).toMatch(/^token=.*end$/);
        }
      }
    }
  });

  it('replaces the key hex-encoded, in either case', () => {
    const hex = Buffer.from(KEY).toString('hex');
    expect(scrub(`dump ${hex} / ${hex.toUpperCase()}`)).toBe(`dump ${REDACTED} / ${REDACTED}`);
  });

  it(`ignores values shorter than ${MIN_SECRET_LENGTH} characters`, () => {
    const short = createScrubber(['test', '1', 'abcdefg']);
    expect(short('test 1 abcdefg')).toBe('test 1 abcdefg');
    expect(createScrubber(['abcdefgh'])('x abcdefgh')).toBe(`x ${REDACTED}`);
  });

  it('keeps the rest of a scrubbed text', () => {
    const out = scrub(`Invalid key ${KEY.replace('/', '\\/')}; request id req_123`);
    expect(out).toBe(`Invalid key ${REDACTED}; request id req_123`);
    expect(clean(out)).toBe(true);
  });
});

describe('encodedForms', () => {
  it('gives the key, its hex and a base64 core per offset that every longer encoding contains', () => {
    const forms = encodedForms(KEY);
    expect(forms).toContain(KEY);
    expect(forms).toContain(Buffer.from(KEY).toString('hex'));
    for (let offset = 0; offset < 3; offset++) {
      for (const around of ['\0', 'z', '\xff']) {
        const text = around.repeat(offset) + KEY + around;
        const encoded = Buffer.from(text, 'latin1').toString('base64');
        expect(forms.some((f) => encoded.includes(f))).toBe(true);
        const urlSafe = Buffer.from(text, 'latin1').toString('base64url');
        expect(forms.some((f) => urlSafe.includes(f))).toBe(true);
      }
    }
  });
});
