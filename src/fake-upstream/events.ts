/**
 * The fake upstream's record of what happened, for tests to assert on and wait for.
 * Waiters see past events first, so `waitFor` after the fact does not race; each wait is
 * bounded by a cancellable sleep and cancelled when the server closes, so none lingers.
 */
import { sleep } from '../tasks/timers.js';

export interface FakeEvent {
  kind: 'request' | 'complete' | 'disconnect';
  /** The request number, from 1. */
  id: number;
  method: string;
  path: string;
  stream: boolean;
  /** Content chunks (text or tool-argument deltas) written before this event. */
  chunksSent: number;
  /** Date.now() when it happened. */
  at: number;
}

interface Waiter {
  pred: (e: FakeEvent) => boolean;
  settle: (result: FakeEvent | Error) => void;
}

/** Older events are dropped past this many, so a long benchmark run stays flat in memory. */
const KEEP_EVENTS = 10_000;

export const DEFAULT_WAIT_MS = 5_000;

export class EventLog {
  readonly events: FakeEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  record(event: FakeEvent): void {
    if (this.closed) return;
    this.events.push(event);
    // Trim in batches: one splice per KEEP_EVENTS records keeps recording O(1) amortised.
    if (this.events.length > 2 * KEEP_EVENTS) this.events.splice(0, KEEP_EVENTS);
    for (const waiter of this.waiters) {
      if (waiter.pred(event)) waiter.settle(event);
    }
  }

  waitFor(pred: (e: FakeEvent) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<FakeEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    if (this.closed) return Promise.reject(new Error('fake-upstream is closed'));
    return new Promise<FakeEvent>((resolve, reject) => {
      const timer = new AbortController();
      const waiter: Waiter = {
        pred,
        settle: (result) => {
          this.waiters.delete(waiter);
          timer.abort();
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      this.waiters.add(waiter);
      void sleep(timeoutMs, timer.signal).then((elapsed) => {
        if (elapsed)
          waiter.settle(new Error(`fake-upstream: no matching event in ${timeoutMs} ms`));
      });
    });
  }

  /** Stops recording and rejects every pending wait. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters)
      waiter.settle(new Error('fake-upstream closed while waiting'));
  }
}
