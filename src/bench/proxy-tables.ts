/** bench:proxy's tables: the upstream path, streaming, cache hits and ratios to the floor. */
import type { Proc } from './procs.js';
import type { Target } from './load.js';
import { median, percentile, table } from './stats.js';

/** One target's numbers, per round (closed loop, streams) and pooled (latencies, TTFB). */
export interface Series {
  rps: number[];
  cpuUsPerReq: number[];
  latencies: number[];
  ttfb: number[];
  cpuUsPerStream: number[];
}

export const series = (): Series => ({
  rps: [],
  cpuUsPerReq: [],
  latencies: [],
  ttfb: [],
  cpuUsPerStream: [],
});

/** A target as the tables show it. */
export interface Row {
  name: string;
  proc: Proc | undefined;
  target: Target;
  s: Series;
}

/** The rows: the upstream direct, the floor, llm-proxy traced and not, the A/B baselines. */
export interface Rows {
  d: Row;
  f: Row;
  l: Row;
  u: Row;
  ab: Row[];
  all: Row[];
}

/** A cache phase's numbers (closed loop, then fixed rate). */
export interface CachePhase {
  rps: number;
  cpuUsPerReq: number;
  p50: number;
  p99: number;
}

/** What a target adds over the upstream direct: latency, TTFB, and the cold phase's p99. */
export interface Added {
  latency(x: Row, p: number): number;
  ttfb(x: Row): number;
  coldP99(x: Row): number;
}

export function addedOver(d: Row, cold: ReadonlyMap<Row, number[]>): Added {
  return {
    latency: (x, p) => percentile(x.s.latencies, p) - percentile(d.s.latencies, p),
    ttfb: (x) => percentile(x.s.ttfb, 50) - percentile(d.s.ttfb, 50),
    coldP99: (x) => percentile(cold.get(x) ?? [], 99),
  };
}

/** Medians of per-round ratios ours/floor (paired by round), with their spread. */
function pairedRatio(ours: readonly number[], floor: readonly number[]): PairedRatio {
  const r = ours.map((x, i) => x / floor[i]!);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}
interface PairedRatio {
  median: number;
  min: number;
  max: number;
}
const spread = (r: PairedRatio): string => `${r.min.toFixed(2)}-${r.max.toFixed(2)}`;

/** A ratio of added latencies; when the floor adds nothing measurable, say so instead. */
function ratioOrNoise(ours: number, floor: number): number | string {
  return floor > 0.05
    ? ours / floor
    : `n/a: floor adds ${floor.toFixed(2)} ms (noise); ours ${ours.toFixed(2)} ms`;
}

/** This build against the baseline build, per round: CPU per request and per stream. */
export function abTable<R extends { name: string }>(
  ours: readonly R[],
  theirs: readonly R[],
  seriesOf: (r: R) => Series,
): void {
  const rows = ours.map((o, i) => {
    const a = seriesOf(o);
    const b = seriesOf(theirs[i]!);
    const req = a.cpuUsPerReq.map((x, k) => x / b.cpuUsPerReq[k]!);
    const str = a.cpuUsPerStream.map((x, k) => x / b.cpuUsPerStream[k]!);
    return {
      'this build / baseline': o.name,
      'cpu/req median': median(req),
      'cpu/req per round': req.map((r) => r.toFixed(2)).join(' '),
      'cpu/stream median': median(str),
      'cpu/stream per round': str.map((r) => r.toFixed(2)).join(' '),
    };
  });
  console.log('\nA/B against BENCH_BASELINE_CLI (ratios paired by round; < 1 is cheaper)');
  console.log(table(rows));
}

export function printUpstreamTables(
  { all, d }: Rows,
  added: Added,
  rounds: number,
  streamCount: number,
): void {
  console.log(`\nUpstream path (chat completions, JSON): medians of ${rounds} interleaved rounds`);
  console.log(
    table(
      all.map((x) => ({
        target: x.name,
        'req/s': median(x.s.rps),
        'cpu us/req': x.proc === undefined ? '-' : median(x.s.cpuUsPerReq),
        'p50 ms': percentile(x.s.latencies, 50),
        'p99 ms': percentile(x.s.latencies, 99),
        'added p50 ms': x === d ? '-' : added.latency(x, 50),
        'added p99 ms': x === d ? '-' : added.latency(x, 99),
        'cold p99 ms': added.coldP99(x),
      })),
    ),
  );
  console.log(`\nStreaming (20 chunks, ${streamCount} streams per target)`);
  console.log(
    table(
      all.map((x) => ({
        target: x.name,
        'ttfb p50 ms': percentile(x.s.ttfb, 50),
        'ttfb p99 ms': percentile(x.s.ttfb, 99),
        'added ttfb p50 ms': x === d ? '-' : added.ttfb(x),
        'cpu us/stream': x.proc === undefined ? '-' : median(x.s.cpuUsPerStream),
      })),
    ),
  );
}

export function printCacheTable(l: Row, mem: CachePhase, red: CachePhase): void {
  console.log('\nCache hits (llm-proxy) next to its upstream path');
  console.log(
    table([
      {
        path: 'upstream (miss/bypass)',
        'req/s': median(l.s.rps),
        'cpu us/req': median(l.s.cpuUsPerReq),
        'p50 ms': percentile(l.s.latencies, 50),
        'p99 ms': percentile(l.s.latencies, 99),
      },
      {
        path: 'memory-tier hit',
        'req/s': mem.rps,
        'cpu us/req': mem.cpuUsPerReq,
        'p50 ms': mem.p50,
        'p99 ms': mem.p99,
      },
      {
        path: 'redis-tier hit',
        'req/s': red.rps,
        'cpu us/req': red.cpuUsPerReq,
        'p50 ms': red.p50,
        'p99 ms': red.p99,
      },
    ]),
  );
}

export function printRatios(
  { d, f, l, u }: Rows,
  added: Added,
  mem: CachePhase,
  phase: { rate: number; seconds: number },
): void {
  const cpu = pairedRatio(l.s.cpuUsPerReq, f.s.cpuUsPerReq);
  const cpuOff = pairedRatio(u.s.cpuUsPerReq, f.s.cpuUsPerReq);
  const rps = pairedRatio(l.s.rps, f.s.rps);
  const cpuStream = pairedRatio(l.s.cpuUsPerStream, f.s.cpuUsPerStream);
  const latency = (metric: string, ours: number, floor: number, target: string) => ({
    metric,
    ratio: ratioOrNoise(ours, floor),
    range: '',
    target,
  });
  console.log(
    `\nRatios to the floor (CPU and throughput: median of per-round ratios, with their range)`,
  );
  console.log(
    table([
      { metric: 'CPU per request', ratio: cpu.median, range: spread(cpu), target: '<= 1.5' },
      { metric: 'throughput', ratio: rps.median, range: spread(rps), target: '>= 0.65' },
      {
        metric: 'CPU per request, tracing off',
        ratio: cpuOff.median,
        range: spread(cpuOff),
        target: '(for reference)',
      },
      latency(
        `added latency p50 @${phase.rate}/s`,
        added.latency(l, 50),
        added.latency(f, 50),
        '<= 1.5',
      ),
      latency(
        `added latency p99 @${phase.rate}/s`,
        added.latency(l, 99),
        added.latency(f, 99),
        '<= 1.5',
      ),
      latency(
        `added latency p99, cold (first ${phase.seconds}s)`,
        added.coldP99(l) - added.coldP99(d),
        added.coldP99(f) - added.coldP99(d),
        '(for reference)',
      ),
      latency('added TTFB p50 (stream)', added.ttfb(l), added.ttfb(f), '<= 1.5'),
      {
        metric: 'CPU per stream',
        ratio: cpuStream.median,
        range: spread(cpuStream),
        target: '<= 1.3',
      },
      {
        metric: 'memory hit CPU / miss CPU',
        ratio: mem.cpuUsPerReq / median(l.s.cpuUsPerReq),
        range: '',
        target: '< 1',
      },
    ]),
  );
}
