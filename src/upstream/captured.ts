/**
 * The data payloads of a stream, kept for the response cache up to a byte bound. Past the
 * bound it lets go of what it held and keeps nothing more: the stream still goes to the
 * client whole, it is only not cached. A 1 GB stream at temperature 0 once took the process
 * from 240 MB to 2.47 GB before the entry failed to serialise (issue 14, defect 3).
 */

/** Asks a stream to keep its data payloads, to cache the stream once it completes. */
export interface CaptureOptions {
  /** Payload bytes kept at most; past it nothing is kept, and the stream is not cached. */
  maxBytes: number;
}

export class CapturedPayloads {
  private held: string[] | undefined = [];
  private size = 0;

  /** @param maxBytes payload bytes kept at most (the cache's maxEntryBytes). */
  constructor(readonly maxBytes: number) {}

  /**
   * Keeps `data` while the payloads so far fit. NOTE: counts UTF-16 units, not UTF-8 bytes:
   * a lower bound, without a scan of every chunk; the cache measures the entry exactly.
   */
  push(data: string): void {
    if (this.held === undefined) return;
    this.size += data.length;
    if (this.size > this.maxBytes) {
      this.held = undefined;
      return;
    }
    this.held.push(data);
  }

  /** True once the payloads outgrew the bound (nothing is held from then on). */
  get overflowed(): boolean {
    return this.held === undefined;
  }

  /** The payloads in order, or undefined once they outgrew the bound. */
  get payloads(): readonly string[] | undefined {
    return this.held;
  }
}

/** A collector for a call that asked for capture, else undefined (nothing is kept). */
export function capturing(capture: CaptureOptions | undefined): CapturedPayloads | undefined {
  return capture === undefined ? undefined : new CapturedPayloads(capture.maxBytes);
}
