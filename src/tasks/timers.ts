/**
 * The only timers outside the spawner's own bookkeeping: cancellable waits.
 * Every wait takes the AbortSignal of the task it runs in, so no sleep outlives its task.
 */

/**
 * Waits `ms`, or less if `signal` aborts first. Resolves true when the full time passed,
 * false when cancelled; it never rejects, so loops can `if (!(await sleep(...))) break`.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
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
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
