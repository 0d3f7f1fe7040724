/**
 * npm run bench:proxy — llm-proxy (metrics and task tracing on) against a bare node:http
 * pass-through proxy (the floor), both in front of the same fake upstream, measured in the
 * same run: closed-loop throughput and CPU per request, added latency at a fixed rate,
 * streaming time-to-first-byte and CPU per stream, cache hits (memory and Redis tiers),
 * memory per cached entry, and RSS. Targets are interleaved in rounds and the ratios paired by
 * round, so a slow spell on these 2 noisy cores hits floor and proxy alike; read the ratios.
 */
import { join } from 'node:path';
import { closedLoop, fixedRate, streams, type Shot, type Target } from './load.js';
import { CLI, freePort, startProc, uncancelled, type Proc } from './procs.js';
import { llmProxy, otlpSink, startRedis } from './services.js';
import { median, percentile, table } from './stats.js';
import { cacheEntryBytes } from './cache-memory.js';
import { sleep } from '../tasks/timers.js';

/** Rounds: each target gets one phase per round, in turn, so slow spells hit all of them. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Seconds per closed-loop and per fixed-rate phase, in each round. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Streams per target in all, spread over the rounds. */
const STREAMS = Number(process.env.BENCH_STREAMS ?? 600);
/**
 * Seconds of closed loop per target (then 200 streams) before the measured rounds. Our proxy
 * runs far more JavaScript than the floor, and until V8 has optimised it (TurboFan compiles
 * on a helper thread, competing for these 2 cores) its tail latency reads the JIT: with only
 * 1 s of warm-up, a 2 s phase at 300/s had a p99 3-4x that of later phases for llm-proxy,
 * 2x for the floor. Replicas in production run warm, so the tables are steady state; the
 * `cold p99` column and ratio show a phase run right after start, for reference.
 */
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 6);
/**
 * Another build's CLI (e.g. the previous main's dist/cli/index.js): it joins the rounds as
 * two more targets, traced and not, and an A/B table gives this build's per-round ratios.
 */
const BASELINE_CLI = process.env.BENCH_BASELINE_CLI;

const chat: Shot = {
  path: '/v1/chat/completions',
  body: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'benchmark request' }],
  }),
};
const cached: Shot = {
  ...chat,
  body: JSON.stringify({ ...JSON.parse(chat.body), temperature: 0 }),
};
const stream: Shot = { ...chat, body: JSON.stringify({ ...JSON.parse(chat.body), stream: true }) };

/** One target's numbers, per round (closed loop, streams) and pooled (latencies, TTFB). */
interface Series {
  rps: number[];
  cpuUsPerReq: number[];
  latencies: number[];
  ttfb: number[];
  cpuUsPerStream: number[];
}

const series = (): Series => ({
  rps: [],
  cpuUsPerReq: [],
  latencies: [],
  ttfb: [],
  cpuUsPerStream: [],
});

async function closedPhase(
  proc: Proc | undefined,
  target: Target,
  shot: Shot,
  into: Series,
): Promise<void> {
  const cpu0 = proc?.cpuSeconds() ?? 0;
  const loop = await closedLoop(target, shot, CONCURRENCY, SECONDS);
  const cpu = (proc?.cpuSeconds() ?? 0) - cpu0;
  into.rps.push(loop.requests / loop.seconds);
  into.cpuUsPerReq.push(loop.requests > 0 ? (cpu / loop.requests) * 1e6 : NaN);
}

async function streamPhase(
  proc: Proc | undefined,
  target: Target,
  count: number,
  into: Series,
): Promise<void> {
  const cpu0 = proc?.cpuSeconds() ?? 0;
  into.ttfb.push(...(await streams(target, stream, 4, count)));
  into.cpuUsPerStream.push((((proc?.cpuSeconds() ?? 0) - cpu0) / count) * 1e6);
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

/** The baseline build, traced and not, named for the tables. */
async function baselines(
  upstreamUrl: string,
  traced: NodeJS.ProcessEnv,
  cli: string,
): Promise<{ proc: Proc; target: Target }[]> {
  const on = await llmProxy(upstreamUrl, '', traced, cli);
  const off = await llmProxy(upstreamUrl, '', {}, cli);
  return [
    { proc: on.proc, target: { ...on.target, name: 'baseline build' } },
    { proc: off.proc, target: { ...off.target, name: 'baseline build, tracing off' } },
  ];
}

/** This build against the baseline build, per round: CPU per request and per stream. */
function abTable<R extends { name: string }>(
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

/** A cache phase (one target, closed loop then fixed rate), for the cache table. */
async function measure(
  proc: Proc,
  target: Target,
  shot: Shot,
): Promise<{ rps: number; cpuUsPerReq: number; p50: number; p99: number }> {
  await closedLoop(target, shot, CONCURRENCY, 1); // warm-up
  const s = series();
  for (let r = 0; r < ROUNDS; r++) await closedPhase(proc, target, shot, s);
  const lat = await fixedRate(target, shot, RATE, SECONDS);
  return {
    rps: median(s.rps),
    cpuUsPerReq: median(s.cpuUsPerReq),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

/** A ratio of added latencies; when the floor adds nothing measurable, say so instead. */
function ratioOrNoise(ours: number, floor: number): number | string {
  return floor > 0.05
    ? ours / floor
    : `n/a: floor adds ${floor.toFixed(2)} ms (noise); ours ${ours.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const sink = await otlpSink();
  const upPort = await freePort();
  const upstream = await startProc(
    [CLI, 'fake-upstream', '--port', String(upPort), '--stream-chunks', '20'],
    /listening/,
  );
  const upstreamUrl = `http://127.0.0.1:${upPort}`;
  const floorPort = await freePort();
  const floor = await startProc(
    [
      join(import.meta.dirname, 'floor-proxy.js'),
      '--port',
      String(floorPort),
      '--upstream',
      upstreamUrl,
    ],
    /listening/,
  );
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'llm-proxy-bench' };
  const proxy = await llmProxy(upstreamUrl, '', traced);
  const plain = await llmProxy(upstreamUrl, '', {});
  const base = BASELINE_CLI === undefined ? [] : await baselines(upstreamUrl, traced, BASELINE_CLI);
  const redis = await startRedis();
  const procs: Proc[] = [upstream, floor, proxy.proc, plain.proc, ...base.map((b) => b.proc)];
  try {
    const direct: Target = { name: 'upstream (direct)', url: upstreamUrl, headers: {} };
    const floorT: Target = { name: 'floor', url: `http://127.0.0.1:${floorPort}`, headers: {} };
    console.log(
      `bench:proxy  ${SECONDS}s per phase, closed loop ${CONCURRENCY} conns, fixed rate ${RATE}/s, ${STREAMS} streams, ${WARMUP}s warm-up per target, node ${process.version}`,
    );

    type Row = { name: string; proc: Proc | undefined; target: Target; s: Series };
    const row = (name: string, proc: Proc | undefined, target: Target): Row => ({
      name,
      proc,
      target,
      s: series(),
    });
    const d = row('upstream (direct)', undefined, direct);
    const f = row('floor (node:http)', floor, floorT);
    const l = row('llm-proxy', proxy.proc, proxy.target);
    const u = row('llm-proxy, tracing off', plain.proc, plain.target);
    const ab = base.map((b) => row(b.target.name, b.proc, b.target));
    const all = [d, f, l, u, ...ab];
    // Cold: one fixed-rate phase right after start (1 s of closed loop, for the connections).
    const cold = new Map<Row, number[]>();
    for (const x of all) await closedLoop(x.target, chat, CONCURRENCY, 1);
    for (const x of all) cold.set(x, await fixedRate(x.target, chat, RATE, SECONDS));
    const coldP99 = (x: Row): number => percentile(cold.get(x) ?? [], 99);
    for (const x of all) await closedLoop(x.target, chat, CONCURRENCY, WARMUP);
    for (const x of all) await streams(x.target, stream, 4, 200);
    // Interleaved: every round runs each phase for every target in turn.
    for (let r = 0; r < ROUNDS; r++) {
      for (const x of all) await closedPhase(x.proc, x.target, chat, x.s);
      for (const x of all) x.s.latencies.push(...(await fixedRate(x.target, chat, RATE, SECONDS)));
      for (const x of all) await streamPhase(x.proc, x.target, Math.ceil(STREAMS / ROUNDS), x.s);
    }
    await plain.proc.stop();
    for (const b of base) await b.proc.stop();
    if (ab.length === 2) abTable([l, u], ab, (x) => x.s);
    const added = (x: Row, p: number): number =>
      percentile(x.s.latencies, p) - percentile(d.s.latencies, p);
    const addedTtfb = (x: Row): number => percentile(x.s.ttfb, 50) - percentile(d.s.ttfb, 50);

    console.log(
      `\nUpstream path (chat completions, JSON): medians of ${ROUNDS} interleaved rounds`,
    );
    console.log(
      table(
        all.map((x) => ({
          target: x.name,
          'req/s': median(x.s.rps),
          'cpu us/req': x.proc === undefined ? '-' : median(x.s.cpuUsPerReq),
          'p50 ms': percentile(x.s.latencies, 50),
          'p99 ms': percentile(x.s.latencies, 99),
          'added p50 ms': x === d ? '-' : added(x, 50),
          'added p99 ms': x === d ? '-' : added(x, 99),
          'cold p99 ms': coldP99(x),
        })),
      ),
    );
    console.log(`\nStreaming (20 chunks, ${STREAMS} streams per target)`);
    console.log(
      table(
        all.map((x) => ({
          target: x.name,
          'ttfb p50 ms': percentile(x.s.ttfb, 50),
          'ttfb p99 ms': percentile(x.s.ttfb, 99),
          'added ttfb p50 ms': x === d ? '-' : addedTtfb(x),
          'cpu us/stream': x.proc === undefined ? '-' : median(x.s.cpuUsPerStream),
        })),
      ),
    );

    // Cache hits: the same proxy answers temperature-0 repeats from memory.
    const mem = await measure(proxy.proc, proxy.target, cached);
    // Redis tier: memory holds one entry, so rotating prompts are answered from Redis.
    const redisProxy = await llmProxy(
      upstreamUrl,
      `cache: { maxEntries: 1, warm: { enabled: false }, redis: { url: "${redis.url}" } }`,
      traced,
    );
    procs.push(redisProxy.proc);
    const rotating: Shot[] = Array.from({ length: 32 }, (_, i) => ({
      ...chat,
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        temperature: 0,
        messages: [{ role: 'user', content: `prompt ${i}` }],
      }),
    }));
    for (const s of rotating) await closedLoop(redisProxy.target, s, 1, 0.05);
    await sleep(500, uncancelled); // write-behind lands
    let rIdx = 0;
    const redisShot: Shot = {
      path: chat.path,
      get body() {
        return rotating[rIdx++ % rotating.length]!.body;
      },
    };
    const red = await measure(redisProxy.proc, redisProxy.target, redisShot);
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
    const entry = await cacheEntryBytes();
    console.log(
      `memory per cached entry: ~${Math.round(entry.perEntry)} bytes of heap (${entry.payload} bytes of answer)${entry.exact ? '' : ' (approximate: run node with --expose-gc)'}`,
    );

    const rss = proxy.proc.rssBytes() / 1e6;
    const cpu = pairedRatio(l.s.cpuUsPerReq, f.s.cpuUsPerReq);
    const cpuOff = pairedRatio(u.s.cpuUsPerReq, f.s.cpuUsPerReq);
    const rps = pairedRatio(l.s.rps, f.s.rps);
    const cpuStream = pairedRatio(l.s.cpuUsPerStream, f.s.cpuUsPerStream);
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
        {
          metric: `added latency p50 @${RATE}/s`,
          ratio: ratioOrNoise(added(l, 50), added(f, 50)),
          range: '',
          target: '<= 1.5',
        },
        {
          metric: `added latency p99 @${RATE}/s`,
          ratio: ratioOrNoise(added(l, 99), added(f, 99)),
          range: '',
          target: '<= 1.5',
        },
        {
          metric: `added latency p99, cold (first ${SECONDS}s)`,
          ratio: ratioOrNoise(coldP99(l) - coldP99(d), coldP99(f) - coldP99(d)),
          range: '',
          target: '(for reference)',
        },
        {
          metric: 'added TTFB p50 (stream)',
          ratio: ratioOrNoise(addedTtfb(l), addedTtfb(f)),
          range: '',
          target: '<= 1.5',
        },
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
    console.log(`llm-proxy RSS right after the run: ${rss.toFixed(1)} MB (target < 120 MB)`);
    await sleep(10_000, uncancelled);
    console.log(
      `llm-proxy RSS after 10 s idle: ${(proxy.proc.rssBytes() / 1e6).toFixed(1)} MB (for reference)`,
    );
  } finally {
    for (const p of procs) await p.stop();
    redis.stop();
    await sink.close();
  }
}

await main();
