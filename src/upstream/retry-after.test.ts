import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 3 ', NOW)).toBe(3_000);
  });

  it('accepts fractional seconds, as some providers send them', () => {
    expect(parseRetryAfter('1.5', NOW)).toBe(1_500);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime forms, asctime as GMT', () => {
    expect(parseRetryAfter('Wednesday, 01-May-24 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Wed May  1 12:00:05 2024', NOW)).toBe(5_000);
  });

  it('clamps a date in the past to zero', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', NOW)).toBe(0);
  });

  it.each([
    undefined,
    null,
    '',
    '   ',
    'soon',
    '-5',
    '1e3',
    '+5',
    '5s',
    '0x10',
    '1.',
    'Wed, 99 May 2024 12:00:00 GMT',
    '2024-05-01T12:00:30Z',
    'Wed, 01 May 2024 12:00:30 PST',
  ])('ignores %o', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});
