/**
 * npm run bench:proxy — llm-proxy (metrics and task tracing on) against a bare node:http
 * pass-through proxy (the floor), both in front of the same fake upstream, measured in the
 * same run: closed-loop throughput and CPU per request, added latency at a fixed rate,
 * streaming time-to-first-byte and CPU per stream, cache hits (memory and Redis tiers),
 * memory per cached entry, and RSS. Targets are interleaved in rounds and the ratios paired by
 * round, so a slow spell on these 2 noisy cores hits floor and proxy alike; read the ratios.
 * Before each phase every process settles (quiet, and every span of a traced proxy exported),
 * and a CPU window holds its phase's load and the tail right after it (see settle.ts).
 */
import { join } from 'node:path';
import { closedLoop, fixedRate, streams, type Shot, type Target } from './load.js';
import { CLI, freePort, startProc, uncancelled, type Proc } from './procs.js';
import { llmProxy, otlpSink, startRedis, type OtlpSink } from './services.js';
import { Quiet } from './settle.js';
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
/** BENCH_SETTLE=0 measures as before settling was added (back to back), for comparison. */
const quiet = new Quiet(process.env.BENCH_SETTLE !== '0');

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

/** The load generators, counting what each traced proxy answered (it owes a span for each). */
async function closed(proc: Proc | undefined, target: Target, shot: Shot, seconds: number) {
  const loop = await closedLoop(target, shot, CONCURRENCY, seconds);
  quiet.answered(proc, loop.requests);
  return loop;
}
async function fixed(proc: Proc | undefined, target: Target, shot: Shot): Promise<number[]> {
  const lat = await fixedRate(target, shot, RATE, SECONDS);
  quiet.answered(proc, lat.length);
  return lat;
}
async function streamed(proc: Proc | undefined, target: Target, count: number) {
  const ttfb = await streams(target, stream, 4, count);
  quiet.answered(proc, ttfb.length);
  return ttfb;
}

/**
 * CPU seconds `proc` spends on `load`: once everything has settled (nothing left over from an
 * earlier phase), an unmeasured slice of the same load, then the window, plus the burst that
 * exports its last spans (see settle.ts). NOTE: the slice matters: straight after an idle
 * spell, caches are cold and the same streams read ~1.5-2x the CPU.
 */
async function cpuOf<T>(
  proc: Proc | undefined,
  warm: () => Promise<unknown>,
  load: () => Promise<T>,
): Promise<[T, number]> {
  await quiet.before();
  await warm();
  const cpu0 = proc?.cpuSeconds() ?? 0;
  const out = await load();
  const cpu = (proc?.cpuSeconds() ?? 0) - cpu0;
  return [out, cpu + (await quiet.after(proc))];
}

async function closedPhase(
  proc: Proc | undefined,
  target: Target,
  shot: Shot,
  into: Series,
): Promise<void> {
  const [loop, cpu] = await cpuOf(
    proc,
    () => closed(proc, target, shot, 0.2),
    () => closed(proc, target, shot, SECONDS),
  );
  into.rps.push(loop.requests / loop.seconds);
  into.cpuUsPerReq.push(loop.requests > 0 ? (cpu / loop.requests) * 1e6 : NaN);
}

async function streamPhase(
  proc: Proc | undefined,
  target: Target,
  count: number,
  into: Series,
): Promise<void> {
  const [ttfb, cpu] = await cpuOf(
    proc,
    () => streamed(proc, target, 16),
    () => streamed(proc, target, count),
  );
  into.ttfb.push(...ttfb);
  into.cpuUsPerStream.push((cpu / count) * 1e6);
}

/** The baseline build, traced and not, named for the tables. */
async function baselines(
  upstreamUrl: string,
  cli: string,
): Promise<{ proc: Proc; target: Target }[]> {
  const on = await tracedProxy(upstreamUrl, '', cli);
  const off = await llmProxy(upstreamUrl, '', {}, cli);
  quiet.add(off.proc);
  return [
    { proc: on.proc, target: { ...on.target, name: 'baseline build' } },
    { proc: off.proc, target: { ...off.target, name: 'baseline build, tracing off' } },
  ];
}

/** A cache phase (one target, closed loop then fixed rate), for the cache table. */
async function measure(proc: Proc, target: Target, shot: Shot): Promise<CachePhase> {
  await closed(proc, target, shot, 1); // warm-up
  const s = series();
  for (let r = 0; r < ROUNDS; r++) await closedPhase(proc, target, shot, s);
  await quiet.before();
  const lat = await fixed(proc, target, shot);
  return {
    rps: median(s.rps),
    cpuUsPerReq: median(s.cpuUsPerReq),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

type Started = { proc: Proc; target: Target };

/** Each traced proxy exports to a sink of its own, which counts its spans. */
const sinks: OtlpSink[] = [];

/** llm-proxy with tracing on, its own sink, known to `quiet`. */
async function tracedProxy(upstreamUrl: string, extra: string, cli?: string): Promise<Started> {
  const sink = await otlpSink();
  sinks.push(sink);
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'llm-proxy-bench' };
  const started = await llmProxy(upstreamUrl, extra, env, cli);
  quiet.add(started.proc, sink);
  return started;
}

/** Everything the bench runs: the fake upstream, the floor, llm-proxy builds and Redis. */
interface Bench {
  upstreamUrl: string;
  floor: Started;
  proxy: Started;
  plain: Started;
  base: Started[];
  redis: { url: string; stop(): void };
  procs: Proc[];
}

async function startBench(): Promise<Bench> {
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
  quiet.add(upstream);
  quiet.add(floor);
  const proxy = await tracedProxy(upstreamUrl, '');
  const plain = await llmProxy(upstreamUrl, '', {});
  quiet.add(plain.proc);
  const base = BASELINE_CLI === undefined ? [] : await baselines(upstreamUrl, BASELINE_CLI);
  const redis = await startRedis();
  const procs: Proc[] = [upstream, floor, proxy.proc, plain.proc, ...base.map((b) => b.proc)];
  const floorTarget = { name: 'floor', url: `http://127.0.0.1:${floorPort}`, headers: {} };
  return {
    upstreamUrl,
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
  for (const x of all) await closed(x.proc, x.target, chat, 1);
  for (const x of all) {
    await quiet.before();
    cold.set(x, await fixed(x.proc, x.target, chat));
  }
  for (const x of all) await closed(x.proc, x.target, chat, WARMUP);
  for (const x of all) await streamed(x.proc, x.target, 200);
  // Interleaved: every round runs each phase for every target in turn.
  for (let r = 0; r < ROUNDS; r++) {
    for (const x of all) await closedPhase(x.proc, x.target, chat, x.s);
    for (const x of all) {
      await quiet.before();
      x.s.latencies.push(...(await fixed(x.proc, x.target, chat)));
    }
    for (const x of all) await streamPhase(x.proc, x.target, Math.ceil(STREAMS / ROUNDS), x.s);
  }
  return cold;
}

/** Cache hits from memory (the traced proxy) and from Redis (a proxy holding one entry). */
async function measureCacheTiers(bench: Bench): Promise<{ mem: CachePhase; red: CachePhase }> {
  // Cache hits: the same proxy answers temperature-0 repeats from memory.
  const mem = await measure(bench.proxy.proc, bench.proxy.target, cached);
  // Redis tier: memory holds one entry, so rotating prompts are answered from Redis.
  const redisProxy = await tracedProxy(
    bench.upstreamUrl,
    `cache: { maxEntries: 1, warm: { enabled: false }, redis: { url: "${bench.redis.url}" } }`,
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
  for (const s of rotating)
    quiet.answered(redisProxy.proc, (await closedLoop(redisProxy.target, s, 1, 0.05)).requests);
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

/** How long the settling before and after phases took, and whether any gave up. */
function printSettling(): void {
  if (quiet.waits.length === 0)
    return console.log('\nsettling off (BENCH_SETTLE=0): phases back to back');
  console.log(
    `\nsettling: ${quiet.waits.length} waits, median ${median(quiet.waits).toFixed(0)} ms, max ${Math.max(...quiet.waits).toFixed(0)} ms, ${quiet.timeouts} gave up; busy tail after a phase (not billed): median ${median(quiet.tails).toFixed(1)} ms, max ${Math.max(...quiet.tails).toFixed(1)} ms of CPU`,
  );
}

async function main(): Promise<void> {
  const bench = await startBench();
  try {
    console.log(
      `bench:proxy  ${SECONDS}s per phase, closed loop ${CONCURRENCY} conns, fixed rate ${RATE}/s, ${STREAMS} streams, ${WARMUP}s warm-up per target, node ${process.version}`,
    );
    const rows = rowsOf(bench);
    const cold = await runRounds(rows.all);
    printSettling();
    for (const p of [bench.plain.proc, ...bench.base.map((b) => b.proc)]) {
      quiet.remove(p);
      await p.stop();
    }
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
    for (const s of sinks) await s.close();
  }
}

await main();
