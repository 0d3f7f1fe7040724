/**
 * npm run bench:proxy — llm-proxy (metrics and task tracing on) against a bare node:http
 * pass-through proxy (the floor), both in front of the same fake upstream, measured in the
 * same run: closed-loop throughput and CPU per request, added latency at a fixed rate,
 * streaming time-to-first-byte and CPU per stream, cache hits (memory and Redis tiers),
 * memory per cached entry, and RSS. Medians and ratios; 2 noisy cores, so read the ratios.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedLoop, fixedRate, streams, type Shot, type Target } from './load.js';
import { freePort, PROXY_NODE_FLAGS, startProc, type Proc } from './procs.js';
import { percentile, table } from './stats.js';
import { cacheEntryBytes } from './cache-memory.js';
import { sleep } from '../tasks/timers.js';

/** Benchmark waits are never cancelled: a signal nothing aborts. */
const uncancelled = new AbortController().signal;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 600);
const CLI = join(import.meta.dirname, '..', 'cli', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'llmp-bench-'));

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

async function otlpSink(): Promise<{ url: string; close(): Promise<void> }> {
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

async function llmProxy(
  upstream: string,
  extra: string,
  env: NodeJS.ProcessEnv,
): Promise<{ proc: Proc; target: Target }> {
  const port = await freePort();
  const file = join(dir, `proxy-${port}.yaml`);
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: ${port}, maxInFlight: 4096 }
auth: { apiKeys: [bench-key] }
providers:
  - { name: upstream, type: openai, baseUrl: "${upstream}/v1", models: [gpt-4o-mini], maxConnections: 64 }
telemetry: { logLevel: info }
${extra}`,
  );
  const proc = await startProc(
    [...PROXY_NODE_FLAGS, CLI, '--config', file],
    /llm-proxy listening/,
    {
      ...env,
      LOG_LEVEL: 'warn',
    },
  );
  return {
    proc,
    target: {
      name: 'llm-proxy',
      url: `http://127.0.0.1:${port}`,
      headers: { authorization: 'Bearer bench-key' },
    },
  };
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await sleep(300, uncancelled);
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

interface Measured {
  rps: number;
  cpuUsPerReq: number;
  p50: number;
  p99: number;
}

async function measure(proc: Proc | undefined, target: Target, shot: Shot): Promise<Measured> {
  await closedLoop(target, shot, CONCURRENCY, 1); // warm-up
  const cpu0 = proc?.cpuSeconds() ?? 0;
  const loop = await closedLoop(target, shot, CONCURRENCY, SECONDS);
  const cpu = (proc?.cpuSeconds() ?? 0) - cpu0;
  const lat = await fixedRate(target, shot, RATE, SECONDS);
  return {
    rps: loop.requests / loop.seconds,
    cpuUsPerReq: loop.requests > 0 ? (cpu / loop.requests) * 1e6 : NaN,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

async function measureStreams(
  proc: Proc | undefined,
  target: Target,
): Promise<{ ttfb50: number; ttfb99: number; cpuUsPerStream: number }> {
  await streams(target, stream, 4, 50);
  const cpu0 = proc?.cpuSeconds() ?? 0;
  const ttfb = await streams(target, stream, 4, STREAMS);
  const cpu = (proc?.cpuSeconds() ?? 0) - cpu0;
  return {
    ttfb50: percentile(ttfb, 50),
    ttfb99: percentile(ttfb, 99),
    cpuUsPerStream: (cpu / STREAMS) * 1e6,
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
  const redis = await startRedis();
  const procs: Proc[] = [upstream, floor, proxy.proc, plain.proc];
  try {
    const direct: Target = { name: 'upstream (direct)', url: upstreamUrl, headers: {} };
    const floorT: Target = { name: 'floor', url: `http://127.0.0.1:${floorPort}`, headers: {} };
    console.log(
      `bench:proxy  ${SECONDS}s per phase, closed loop ${CONCURRENCY} conns, fixed rate ${RATE}/s, ${STREAMS} streams, node ${process.version}`,
    );

    const d = await measure(undefined, direct, chat);
    const f = await measure(floor, floorT, chat);
    const l = await measure(proxy.proc, proxy.target, chat);
    const u = await measure(plain.proc, plain.target, chat);
    await plain.proc.stop();
    const ds = await measureStreams(undefined, direct);
    const fs = await measureStreams(floor, floorT);
    const ls = await measureStreams(proxy.proc, proxy.target);
    const addF = { p50: f.p50 - d.p50, p99: f.p99 - d.p99 };
    const addL = { p50: l.p50 - d.p50, p99: l.p99 - d.p99 };

    console.log('\nUpstream path (chat completions, JSON)');
    console.log(
      table([
        {
          target: 'upstream (direct)',
          'req/s': d.rps,
          'cpu us/req': '-',
          'p50 ms': d.p50,
          'p99 ms': d.p99,
          'added p50 ms': '-',
          'added p99 ms': '-',
        },
        {
          target: 'floor (node:http)',
          'req/s': f.rps,
          'cpu us/req': f.cpuUsPerReq,
          'p50 ms': f.p50,
          'p99 ms': f.p99,
          'added p50 ms': addF.p50,
          'added p99 ms': addF.p99,
        },
        {
          target: 'llm-proxy',
          'req/s': l.rps,
          'cpu us/req': l.cpuUsPerReq,
          'p50 ms': l.p50,
          'p99 ms': l.p99,
          'added p50 ms': addL.p50,
          'added p99 ms': addL.p99,
        },
      ]),
    );
    console.log('\nStreaming (20 chunks)');
    console.log(
      table([
        {
          target: 'upstream (direct)',
          'ttfb p50 ms': ds.ttfb50,
          'ttfb p99 ms': ds.ttfb99,
          'cpu us/stream': '-',
        },
        {
          target: 'floor (node:http)',
          'ttfb p50 ms': fs.ttfb50,
          'ttfb p99 ms': fs.ttfb99,
          'cpu us/stream': fs.cpuUsPerStream,
        },
        {
          target: 'llm-proxy',
          'ttfb p50 ms': ls.ttfb50,
          'ttfb p99 ms': ls.ttfb99,
          'cpu us/stream': ls.cpuUsPerStream,
        },
      ]),
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
          'req/s': l.rps,
          'cpu us/req': l.cpuUsPerReq,
          'p50 ms': l.p50,
          'p99 ms': l.p99,
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
      `memory per cached entry: ~${Math.round(entry.perEntry)} bytes of heap (${entry.payload} bytes of answer)`,
    );

    const rss = proxy.proc.rssBytes() / 1e6;
    console.log('\nRatios to the floor (targets in parentheses)');
    console.log(
      table([
        { metric: 'CPU per request', ratio: l.cpuUsPerReq / f.cpuUsPerReq, target: '<= 1.5' },
        { metric: 'throughput', ratio: l.rps / f.rps, target: '>= 0.65' },
        {
          metric: 'CPU per request, tracing off',
          ratio: u.cpuUsPerReq / f.cpuUsPerReq,
          target: '(for reference)',
        },
        {
          metric: `added latency p50 @${RATE}/s`,
          ratio: ratioOrNoise(addL.p50, addF.p50),
          target: '<= 1.5',
        },
        {
          metric: `added latency p99 @${RATE}/s`,
          ratio: ratioOrNoise(addL.p99, addF.p99),
          target: '<= 1.5',
        },
        {
          metric: 'added TTFB p50 (stream)',
          ratio: ratioOrNoise(ls.ttfb50 - ds.ttfb50, fs.ttfb50 - ds.ttfb50),
          target: '<= 1.5',
        },
        {
          metric: 'CPU per stream',
          ratio: ls.cpuUsPerStream / fs.cpuUsPerStream,
          target: '<= 1.3',
        },
        {
          metric: 'memory hit CPU / miss CPU',
          ratio: mem.cpuUsPerReq / l.cpuUsPerReq,
          target: '< 1',
        },
      ]),
    );
    console.log(`llm-proxy RSS after the run: ${rss.toFixed(1)} MB (target < 120 MB)`);
  } finally {
    for (const p of procs) await p.stop();
    redis.stop();
    await sink.close();
  }
}

await main();
