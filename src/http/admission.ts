/**
 * Admission of proxied requests in two stages, so that a client sending its body slowly holds
 * no in-flight slot (a hundred such clients once locked everyone out for receiveTimeoutMs):
 * - receiving: a request whose body is still arriving holds a place among
 *   `server.maxReceiving`, and among its client key's `maxReceivingPerKey`;
 * - in flight: once its body is whole it takes one of `server.maxInFlight` slots, held until
 *   it is answered.
 * Plain counters, checked and changed synchronously on the request path: no timer, and no
 * object per request.
 */
import { errors, type ProxyError } from './errors.js';

export interface AdmissionLimits {
  readonly maxInFlight: number;
  readonly maxReceiving: number;
  readonly maxReceivingPerKey: number;
}

export class Admission {
  private inFlight = 0;
  private receiving = 0;
  /**
   * Bodies arriving per client key, by its scope id (never the key). Entries stay at 0: the
   * ids come from configured keys only, so this holds one entry per key at most, and a
   * request pays no insertion or deletion.
   */
  private readonly receivingByKey = new Map<string, number>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Every slot is held: a request is shed at once, not after its body was read for nothing. */
  get full(): boolean {
    return this.inFlight >= this.limits.maxInFlight;
  }

  /**
   * Takes a place for a body about to arrive, or returns the refusal when there is none.
   * `key`: the client key's scope id; undefined on an open proxy, which cannot tell clients
   * apart, so only the total applies.
   */
  startReceiving(key: string | undefined): ProxyError | undefined {
    const { maxReceiving, maxReceivingPerKey } = this.limits;
    if (this.receiving >= maxReceiving) return errors.receivingFull(maxReceiving);
    if (key !== undefined) {
      const n = this.receivingByKey.get(key) ?? 0;
      if (n >= maxReceivingPerKey) return errors.tooManyUploads(maxReceivingPerKey);
      this.receivingByKey.set(key, n + 1);
    }
    this.receiving++;
    return undefined;
  }

  /** Gives back startReceiving's place: the body arrived whole, or its read failed. */
  doneReceiving(key: string | undefined): void {
    this.receiving--;
    if (key === undefined) return;
    this.receivingByKey.set(key, (this.receivingByKey.get(key) ?? 1) - 1);
  }

  /** Takes an in-flight slot for a request whose body is whole; false when none is free. */
  take(): boolean {
    if (this.inFlight >= this.limits.maxInFlight) return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight--;
  }
}
