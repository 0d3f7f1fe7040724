import { describe, expect, it } from 'vitest';
import { CapturedPayloads, capturing } from './captured.js';

describe('CapturedPayloads', () => {
  it('keeps payloads in order while they fit the bound', () => {
    const c = new CapturedPayloads(10);
    c.push('abcd');
    c.push('efghij');
    expect(c.payloads).toEqual(['abcd', 'efghij']);
    expect(c.overflowed).toBe(false);
  });

  it('lets go of everything once past the bound, and keeps nothing after', () => {
    const c = new CapturedPayloads(10);
    c.push('abcdef');
    c.push('ghijk');
    expect(c.overflowed).toBe(true);
    expect(c.payloads).toBeUndefined();
    c.push('x');
    expect(c.payloads).toBeUndefined();
  });

  it('is made only for a call that asked for capture', () => {
    expect(capturing(undefined)).toBeUndefined();
    expect(capturing({ maxBytes: 5 })?.maxBytes).toBe(5);
  });
});
