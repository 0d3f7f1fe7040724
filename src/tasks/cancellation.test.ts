import { describe, expect, it } from 'vitest';
import { Cancellation, type CancelSignal } from './cancellation.js';
import { sleep } from './timers.js';

describe('Cancellation', () => {
  it('runs each listener once, in order, with the reason set', () => {
    const c = new Cancellation();
    const seen: string[] = [];
    const first = (): void => void seen.push(`first:${String(c.reason)}`);
    c.addEventListener('abort', first);
    c.addEventListener('abort', first); // the same listener twice is one, as with EventTarget
    c.addEventListener('abort', () => seen.push(`second:${String(c.aborted)}`));
    c.abort('why');
    c.abort('again');
    expect(seen).toEqual(['first:why', 'second:true']);
    expect(c.reason).toBe('why');
  });

  it('forgets a removed listener and never calls one added after the abort', () => {
    const c = new Cancellation();
    let calls = 0;
    const listener = (): void => void calls++;
    c.addEventListener('abort', listener);
    c.removeEventListener('abort', listener);
    c.abort(new Error('gone'));
    c.addEventListener('abort', listener);
    expect(calls).toBe(0);
  });

  it('is what a wait and an AbortSignal consumer see the same way', async () => {
    const signals: [CancelSignal, () => void][] = [];
    const c = new Cancellation();
    signals.push([c, () => c.abort(new Error('stop'))]);
    const a = new AbortController();
    signals.push([a.signal, () => a.abort(new Error('stop'))]);
    for (const [signal, abort] of signals) {
      const waiting = sleep(60_000, signal);
      abort();
      expect(await waiting).toBe(false);
      expect(signal.aborted).toBe(true);
    }
  });
});
