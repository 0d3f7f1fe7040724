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
import { median, percentile } from './stats.js';
import { cacheEntryBytes } from './cache-memory.js';
import { sleep } from '../tasks/timers.js';
import {
  abTable,
  addedOver,
  printCacheTable,
  printRatios,
  printUpstreamTables,
  series,
  type CachePhase,
  type Row,
  type Rows,
  type Series,
} from './proxy-tables.js';

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

/** A cache phase (one target, closed loop then fixed rate), for the cache table. */
async function measure(proc: Proc, target: Target, shot: Shot): Promise<CachePhase> {
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

type Started = { proc: Proc; target: Target };

/** Everything the bench runs: the fake upstream, the floor, llm-proxy builds and Redis. */
interface Bench {
  upstreamUrl: string;
  traced: NodeJS.ProcessEnv;
  floor: Started;
  proxy: Started;
  plain: Started;
  base: Started[];
  redis: { url: string; stop(): void };
  procs: Proc[];
}

async function startBench(sinkUrl: string): Promise<Bench> {
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
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_SERVICE_NAME: 'llm-proxy-bench' };
  const proxy = await llmProxy(upstreamUrl, '', traced);
  const plain = await llmProxy(upstreamUrl, '', {});
  const base = BASELINE_CLI === undefined ? [] : await baselines(upstreamUrl, traced, BASELINE_CLI);
  const redis = await startRedis();
  const procs: Proc[] = [upstream, floor, proxy.proc, plain.proc, ...base.map((b) => b.proc)];
  const floorTarget = { name: 'floor', url: `http://127.0.0.1:${floorPort}`, headers: {} };
  return {
    upstreamUrl,
    traced,
    floor: { proc: floor, target: floorTarget },
    proxy,
    plain,
    base,
    redis,
    procs,
  };
}

function rowsOf(bench: Bench): Rows {
  const row = (name: string, proc: Proc | undefined, target: Target): Row => ({
    name,
    proc,
    target,
    s: series(),
  });
  const direct: Target = { name: 'upstream (direct)', url: bench.upstreamUrl, headers: {} };
  const d = row('upstream (direct)', undefined, direct);
  const f = row('floor (node:http)', bench.floor.proc, bench.floor.target);
  const l = row('llm-proxy', bench.proxy.proc, bench.proxy.target);
  const u = row('llm-proxy, tracing off', bench.plain.proc, bench.plain.target);
  const ab = bench.base.map((b) => row(b.target.name, b.proc, b.target));
  return { d, f, l, u, ab, all: [d, f, l, u, ...ab] };
}

/**
 * A cold fixed-rate phase per target, the warm-up, then ROUNDS interleaved rounds (every
 * phase for every target in turn); the cold phases' latencies, by row.
 */
async function runRounds(all: readonly Row[]): Promise<Map<Row, number[]>> {
  // Cold: one fixed-rate phase right after start (1 s of closed loop, for the connections).
  const cold = new Map<Row, number[]>();
  for (const x of all) await closedLoop(x.target, chat, CONCURRENCY, 1);
  for (const x of all) cold.set(x, await fixedRate(x.target, chat, RATE, SECONDS));
  for (const x of all) await closedLoop(x.target, chat, CONCURRENCY, WARMUP);
  for (const x of all) await streams(x.target, stream, 4, 200);
  // Interleaved: every round runs each phase for every target in turn.
  for (let r = 0; r < ROUNDS; r++) {
    for (const x of all) await closedPhase(x.proc, x.target, chat, x.s);
    for (const x of all) x.s.latencies.push(...(await fixedRate(x.target, chat, RATE, SECONDS)));
    for (const x of all) await streamPhase(x.proc, x.target, Math.ceil(STREAMS / ROUNDS), x.s);
  }
  return cold;
}

/** Cache hits from memory (the traced proxy) and from Redis (a proxy holding one entry). */
async function measureCacheTiers(bench: Bench): Promise<{ mem: CachePhase; red: CachePhase }> {
  // Cache hits: the same proxy answers temperature-0 repeats from memory.
  const mem = await measure(bench.proxy.proc, bench.proxy.target, cached);
  // Redis tier: memory holds one entry, so rotating prompts are answered from Redis.
  const redisProxy = await llmProxy(
    bench.upstreamUrl,
    `cache: { maxEntries: 1, warm: { enabled: false }, redis: { url: "${bench.redis.url}" } }`,
    bench.traced,
  );
  bench.procs.push(redisProxy.proc);
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
  return { mem, red };
}

async function main(): Promise<void> {
  const sink = await otlpSink();
  const bench = await startBench(sink.url);
  try {
    console.log(
      `bench:proxy  ${SECONDS}s per phase, closed loop ${CONCURRENCY} conns, fixed rate ${RATE}/s, ${STREAMS} streams, ${WARMUP}s warm-up per target, node ${process.version}`,
    );
    const rows = rowsOf(bench);
    const cold = await runRounds(rows.all);
    await bench.plain.proc.stop();
    for (const b of bench.base) await b.proc.stop();
    if (rows.ab.length === 2) abTable([rows.l, rows.u], rows.ab, (x) => x.s);
    const added = addedOver(rows.d, cold);
    printUpstreamTables(rows, added, ROUNDS, STREAMS);
    const { mem, red } = await measureCacheTiers(bench);
    printCacheTable(rows.l, mem, red);
    const entry = await cacheEntryBytes();
    console.log(
      `memory per cached entry: ~${Math.round(entry.perEntry)} bytes of heap (${entry.payload} bytes of answer)${entry.exact ? '' : ' (approximate: run node with --expose-gc)'}`,
    );
    const rss = bench.proxy.proc.rssBytes() / 1e6;
    printRatios(rows, added, mem, { rate: RATE, seconds: SECONDS });
    console.log(`llm-proxy RSS right after the run: ${rss.toFixed(1)} MB (target < 120 MB)`);
    await sleep(10_000, uncancelled);
    console.log(
      `llm-proxy RSS after 10 s idle: ${(bench.proxy.proc.rssBytes() / 1e6).toFixed(1)} MB (for reference)`,
    );
  } finally {
    for (const p of bench.procs) await p.stop();
    bench.redis.stop();
    await sink.close();
  }
}

await main();
