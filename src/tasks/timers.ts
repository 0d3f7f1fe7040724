/**
 * The only timers outside the spawner's own bookkeeping: cancellable waits.
 * Every wait takes the signal of the task it runs in, so no sleep outlives its task.
 */
import type { CancelSignal } from './cancellation.js';

/** Timers armed here and neither fired nor cleared yet. */
let live = 0;

/**
 * How many timers of this module are pending: a leak check can assert it is back to where it
 * was, which Node's resource census can't (armTimer's timers are unref'd, so they are not
 * listed, and timers are counted by type, not identity).
 */
export function liveTimers(): number {
  return live;
}

/**
 * Waits `ms`, or less if `signal` aborts first. Resolves true when the full time passed,
 * false when cancelled; it never rejects, so loops can `if (!(await sleep(...))) break`.
 */
export function sleep(ms: number, signal: CancelSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      live--;
      resolve(false);
    };
    const timer = setTimeout(() => {
      live--;
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    live++;
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `base` ± `jitter` (a fraction, 0..1), never negative. */
export function jittered(base: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0) return base;
  return Math.max(0, base * (1 + jitter * (2 * random() - 1)));
}

/** An unref'd one-shot timer, cleared by the returned function. For spawner internals. */
export function armTimer(ms: number, fire: () => void): () => void {
  let pending = true;
  const timer = setTimeout(() => {
    pending = false;
    live--;
    fire();
  }, ms);
  timer.unref();
  live++;
  return () => {
    if (!pending) return;
    pending = false;
    live--;
    clearTimeout(timer);
  };
}
