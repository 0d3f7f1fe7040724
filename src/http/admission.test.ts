import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

const limits = { maxInFlight: 2, maxReceiving: 3, maxReceivingPerKey: 2 };

describe('Admission', () => {
  it('holds bodies being received apart from in-flight slots', () => {
    const a = new Admission(limits);
    expect(a.take()).toBe(true);
    expect(a.take()).toBe(true);
    expect(a.full).toBe(true);
    expect(a.take()).toBe(false);
    // Every slot held, yet bodies may still arrive: they take no slot.
    expect(a.startReceiving('k1')).toBeUndefined();
    a.release();
    expect(a.full).toBe(false);
    expect(a.take()).toBe(true);
  });

  it('refuses a key past its share with a 429, and all past the total with a 503', () => {
    const a = new Admission(limits);
    expect(a.startReceiving('k1')).toBeUndefined();
    expect(a.startReceiving('k1')).toBeUndefined();
    expect(a.startReceiving('k1')).toMatchObject({ status: 429, code: 'too_many_uploads' });
    expect(a.startReceiving('k2')).toBeUndefined();
    expect(a.startReceiving('k3')).toMatchObject({ status: 503, code: 'overloaded' });
    // A refusal takes nothing: one body ending makes room for exactly one.
    a.doneReceiving('k2');
    expect(a.startReceiving('k3')).toBeUndefined();
    expect(a.startReceiving('k2')).toMatchObject({ status: 503 });
  });

  it('gives a key its share back as its bodies end', () => {
    const a = new Admission(limits);
    a.startReceiving('k1');
    a.startReceiving('k1');
    a.doneReceiving('k1');
    expect(a.startReceiving('k1')).toBeUndefined();
    a.doneReceiving('k1');
    a.doneReceiving('k1');
    expect(a.startReceiving('k1')).toBeUndefined();
    expect(a.startReceiving('k1')).toBeUndefined();
  });

  it('applies only the total without keys (an open proxy cannot tell clients apart)', () => {
    const a = new Admission(limits);
    for (let i = 0; i < 3; i++) expect(a.startReceiving(undefined)).toBeUndefined();
    expect(a.startReceiving(undefined)).toMatchObject({ status: 503 });
    a.doneReceiving(undefined);
    expect(a.startReceiving(undefined)).toBeUndefined();
  });
});
