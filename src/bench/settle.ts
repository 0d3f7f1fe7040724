/**
 * Letting bench:proxy's processes settle between phases, so a phase's CPU window holds its own
 * work and none of the phase before it. NOTE: without this, the stream phase (a few hundred
 * ms of CPU) was billed for what the JSON phases left behind: a traced proxy's last partial
 * span batch goes out up to OTEL_BSP_SCHEDULE_DELAY (5 s) after its first span, V8 runs GC
 * work after a busy spell, and other processes' tails compete for the same 2 cores. Two
 * identical builds in the same rounds read 1.35x apart on CPU per stream.
 */
import type { Proc } from './procs.js';
import { uncancelled } from './procs.js';
import { sleep } from '../tasks/timers.js';

/** One reading of a process: wall clock and CPU time used so far, both in ms. */
export interface CpuReading {
  wallMs: number;
  cpuMs: number;
}

/**
 * Tells when a process has gone quiet, from readings taken every few ms: an interval whose
 * CPU rate is over `maxRate` (CPU ms per wall ms) is busy and restarts the quiet stretch.
 */
export class IdleWatch {
  private last: CpuReading | undefined;
  private quietFrom: CpuReading | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly maxRate: number,
  ) {}

  /** Adds a reading; once quiet for `quietMs`, the reading the quiet stretch began at. */
  add(r: CpuReading): CpuReading | undefined {
    const last = this.last;
    this.last = r;
    if (last === undefined || r.cpuMs - last.cpuMs > this.maxRate * (r.wallMs - last.wallMs)) {
      this.quietFrom = r;
      return undefined;
    }
    return r.wallMs - this.quietFrom!.wallMs >= this.quietMs ? this.quietFrom : undefined;
  }
}

/**
 * What one process's settling cost it: the busy tail right after the phase (until its first
 * quiet stretch) and, for a traced proxy, the burst that exported the phase's last spans.
 */
export class Tail {
  private readonly watch: IdleWatch;
  private first: CpuReading | undefined;
  private prev: CpuReading | undefined;
  private tailEnd: CpuReading | undefined;
  private burstFrom: CpuReading | undefined;
  private burstEnd: CpuReading | undefined;
  private delivered: boolean | undefined;

  constructor(opts: SettleOptions) {
    this.watch = new IdleWatch(opts.quietMs, opts.maxRate);
  }

  /** Adds a reading and whether everything owed has arrived; true once quiet and delivered. */
  add(r: CpuReading, delivered: boolean): boolean {
    this.first ??= r;
    // The spans arrived since the last reading: the export burst started after that reading.
    if (this.delivered === false && delivered) this.burstFrom = this.prev;
    this.delivered = delivered;
    this.prev = r;
    const quietFrom = this.watch.add(r);
    if (quietFrom === undefined) return false;
    this.tailEnd ??= quietFrom;
    if (this.burstFrom !== undefined && this.burstEnd === undefined && delivered)
      this.burstEnd = quietFrom.wallMs >= this.burstFrom.wallMs ? quietFrom : this.burstFrom;
    return delivered;
  }

  /** CPU ms of the busy stretch right after the phase, until the first quiet one. */
  tailMs(): number {
    return this.tailEnd && this.first ? this.tailEnd.cpuMs - this.first.cpuMs : 0;
  }

  /** CPU ms of the burst that exported the phase's last spans, if one was seen. */
  burstMs(): number {
    return this.burstFrom && this.burstEnd ? this.burstEnd.cpuMs - this.burstFrom.cpuMs : 0;
  }
}

export interface SettleOptions {
  /** How long every process must stay under `maxRate` (ms). */
  quietMs: number;
  /** CPU ms per wall ms that still counts as idle (timers, health checks). */
  maxRate: number;
  /** Reading interval (ms). */
  everyMs: number;
  /** Give up after this long (ms): past a traced proxy's scheduled delay and then some. */
  maxWaitMs: number;
}

export const SETTLE: SettleOptions = { quietMs: 300, maxRate: 0.05, everyMs: 25, maxWaitMs: 8000 };

/** A process to settle, and (a traced proxy) whether its sink has every span it owes. */
export interface Settling {
  proc: Proc;
  delivered?: () => boolean;
}

export interface Settled {
  /** Each process's Tail, in the order given. */
  tails: Tail[];
  waitedMs: number;
  timedOut: boolean;
}

/** Waits until every process is quiet and every traced proxy's spans are in, or maxWaitMs. */
export async function settle(
  procs: readonly Settling[],
  opts: SettleOptions = SETTLE,
): Promise<Settled> {
  const tails = procs.map(() => new Tail(opts));
  const t0 = performance.now();
  for (;;) {
    const now = performance.now();
    let done = true;
    for (const [i, p] of procs.entries()) {
      const r = { wallMs: now, cpuMs: p.proc.cpuSeconds() * 1000 };
      if (!tails[i]!.add(r, p.delivered?.() ?? true)) done = false;
    }
    const waitedMs = now - t0;
    if (done || waitedMs >= opts.maxWaitMs) return { tails, waitedMs, timedOut: !done };
    await sleep(opts.everyMs, uncancelled);
  }
}

/** A traced proxy's SERVER spans received so far, from its own sink. */
export interface SpanCounter {
  serverSpans(): number;
}

/**
 * bench:proxy's processes and what the traced ones owe: `before()` each phase settles them
 * all, `after(proc)` settles them again and returns the phase's tail on `proc`. Every request
 * sent to a traced proxy must go through `answered`, or its spans look delivered too early.
 */
export class Quiet {
  private readonly procs: Proc[] = [];
  private readonly owed = new Map<Proc, { sink: SpanCounter; sent: number }>();
  readonly waits: number[] = [];
  /** CPU ms of each phase's busy tail, not billed (see after). */
  readonly tails: number[] = [];
  timeouts = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly opts: SettleOptions = SETTLE,
  ) {}

  add(proc: Proc, sink?: SpanCounter): void {
    this.procs.push(proc);
    if (sink !== undefined) this.owed.set(proc, { sink, sent: 0 });
  }

  /** Before the process stops: a stopped process has no CPU to read. */
  remove(proc: Proc): void {
    this.procs.splice(this.procs.indexOf(proc), 1);
    this.owed.delete(proc);
  }

  /** `requests` answered by `proc`: a traced proxy owes a SERVER span for each. */
  answered(proc: Proc | undefined, requests: number): void {
    const o = proc === undefined ? undefined : this.owed.get(proc);
    if (o !== undefined) o.sent += requests;
  }

  async before(): Promise<void> {
    await this.run();
  }

  /**
   * Settles after a phase on `proc`: the CPU seconds of the burst that exported its last
   * spans (0 if none or disabled). NOTE: the busy tail right after the phase is not added:
   * the unmeasured warm-up slice before each window leaves a tail of the same kind of work
   * in it, as a steady stream of requests would; `tails` keeps it, for the record.
   */
  async after(proc: Proc | undefined): Promise<number> {
    const s = await this.run();
    const i = proc === undefined ? -1 : this.procs.indexOf(proc);
    if (i < 0 || s === undefined) return 0;
    this.tails.push(s.tails[i]!.tailMs());
    return s.tails[i]!.burstMs() / 1000;
  }

  private async run(): Promise<Settled | undefined> {
    if (!this.enabled) return undefined;
    const s = await settle(
      this.procs.map((proc) => {
        const o = this.owed.get(proc);
        return o === undefined
          ? { proc }
          : { proc, delivered: () => o.sink.serverSpans() >= o.sent };
      }),
      this.opts,
    );
    this.waits.push(s.waitedMs);
    if (s.timedOut) this.timeouts++;
    return s;
  }
}
