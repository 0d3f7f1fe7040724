/**
 * The part of an AbortSignal that the proxy's own code reads (an AbortSignal is one), and a
 * light implementation of it for the request path.
 *
 * NOTE: on Node 20, an AbortSignal (made on first read of `controller.signal`) outlives the
 * scavenges it should die in: a loop making one per iteration, 16 alive at a time, had V8
 * promote ~0.9 MB to the old generation per scavenge, against nothing for a plain object or
 * an EventTarget (measured with --trace-gc-nvp). In the proxy, the per-try signal was ~700 B
 * of the ~2.4 KB per request that survived to a major GC. Only our code consumes the signal
 * handed to a provider (undici gets a handler, not a signal), so that one is a Cancellation.
 */

export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-shot CancelSignal and its controller in one. Listeners run once, in order, when it
 * aborts; as with EventTarget, one that throws does not stop the others, and its error is
 * rethrown on the next tick.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    const listeners = (this.listeners ??= []);
    // As EventTarget: the same listener twice is one listener.
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }
}
