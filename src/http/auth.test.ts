import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeySet } from './auth.js';

describe('KeySet.scopeOf', () => {
  const keys = ['sk-proxy-alpha-0123456789', 'sk-proxy-beta-0123456789'];

  it('gives each configured key its own scope, and none to an unknown key', () => {
    const set = new KeySet(keys);
    const a = set.scopeOf(keys[0]!);
    const b = set.scopeOf(keys[1]!);
    expect(a).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(b).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(a).not.toBe(b);
    expect(set.scopeOf('sk-proxy-gamma-0123456789')).toBeUndefined();
    expect(set.has(keys[1]!)).toBe(true);
    expect(set.has('sk-proxy-gamma-0123456789')).toBe(false);
  });

  it('gives a key the same scope in every replica, whatever its place in the list', () => {
    const here = new KeySet(keys);
    const there = new KeySet(['sk-proxy-other', keys[1]!, keys[0]!]);
    expect(there.scopeOf(keys[0]!)).toBe(here.scopeOf(keys[0]!));
    expect(there.scopeOf(keys[1]!)).toBe(here.scopeOf(keys[1]!));
  });

  it('never contains the key, nor the digest the key is checked against', () => {
    const scope = new KeySet(keys).scopeOf(keys[0]!)!;
    expect(scope).not.toContain('alpha');
    expect(scope).not.toBe(hash('sha256', keys[0]!, 'base64url'));
    expect(scope).not.toBe(hash('sha256', keys[0]!, 'hex'));
  });
});
