import { describe, expect, it } from 'vitest';
import { merged } from './objects.js';

describe('merged', () => {
  it('is { ...a, ...b }: b wins, a and b are left alone', () => {
    const a = { 'content-type': 'text/plain', 'x-one': '1' };
    const b = { 'content-type': 'application/json', 'content-length': 2 };
    const out = merged(a, b);
    expect(out).toEqual({ ...a, ...b });
    expect(Object.keys(out)).toEqual(Object.keys({ ...a, ...b }));
    expect(out).not.toBe(a);
    expect(a).toEqual({ 'content-type': 'text/plain', 'x-one': '1' });
  });

  it('takes a missing first object as empty', () => {
    expect(merged(undefined, { k: 1 })).toEqual({ k: 1 });
  });
});
