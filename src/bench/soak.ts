/**
 * npm run soak — mixed traffic with faults against the built proxy for SOAK_SECONDS (default
 * 60): parallel races, streams, cache hits, client disconnects, a flaky and a slow upstream,
 * and Redis killed and restarted mid-run. Samples RSS and heap from /metrics; fails on heap
 * growth past SOAK_HEAP_GROWTH_MB (default 24) or any leaked/left-over task. Prints a table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExposition, sum } from '../telemetry/exposition.js';
import { CLI, freePort, PROXY_NODE_FLAGS, startProc, uncancelled, type Proc } from './procs.js';
import { median, table } from './stats.js';
import { sleep } from '../tasks/timers.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const GROWTH_MB = Number(process.env.SOAK_HEAP_GROWTH_MB ?? 24);
const CONCURRENCY = 8;
const KEY = 'soak-key';
const ADMIN = 'soak-admin';

function redisOn(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}

interface Ports {
  fast: number;
  flaky: number;
  slow: number;
  redis: number;
  proxy: number;
}

interface Sample {
  t: number;
  heapMb: number;
  rssMb: number;
  active: number;
}

interface Counts {
  sent: number;
  ok: number;
  aborted: number;
  failed: number;
}

/** Redis as the run has it: killed and replaced mid-run, stopped at the end. */
interface RedisHolder {
  proc: ChildProcess;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'llmp-soak-'));
  const [fast, flaky, slow, redisPort, proxyPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const ports: Ports = { fast, flaky, slow, redis: redisPort, proxy: proxyPort };
  const procs: Proc[] = [];
  const redis: RedisHolder = { proc: redisOn(ports.redis) };
  try {
    await startUpstreams(procs, ports);
    const file = writeConfig(dir, ports);
    const proxy = await startProc(
      [...PROXY_NODE_FLAGS, CLI, '--config', file],
      /llm-proxy listening/,
    );
    procs.push(proxy);
    const base = `http://127.0.0.1:${ports.proxy}`;
    const samples: Sample[] = [];
    const counts: Counts = { sent: 0, ok: 0, aborted: 0, failed: 0 };
    const t0 = performance.now();
    await runTraffic(base, t0, redis, ports.redis, samples, counts);
    await sample(base, t0, samples);
    const check = await checkLeaks(base);
    const growth = heapGrowth(samples);
    report(samples, counts, growth, check.code);
    process.stdout.write(check.out);
    const pass = check.code === 0 && growth <= GROWTH_MB && counts.ok > 0;
    console.log(pass ? 'soak: PASS' : 'soak: FAIL');
    return pass ? 0 : 1;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    redis.proc.kill('SIGTERM');
  }
}

/** A fast, a flaky (20% failures) and a slow streaming fake upstream, added to `procs`. */
async function startUpstreams(procs: Proc[], ports: Ports): Promise<void> {
  const fake = (port: number, ...flags: string[]): Promise<Proc> =>
    startProc([CLI, 'fake-upstream', '--port', String(port), ...flags], /listening/);
  procs.push(await fake(ports.fast, '--latency-ms', '5'));
  procs.push(await fake(ports.flaky, '--latency-ms', '10', '--fail-rate', '0.2'));
  procs.push(await fake(ports.slow, '--latency-ms', '150', '--stream-chunks', '10'));
}

function writeConfig(dir: string, ports: Ports): string {
  const file = join(dir, 'soak.yaml');
  writeFileSync(
    file,
    `server: { port: ${ports.proxy}, shutdownDeadlineMs: 10000 }
auth: { apiKeys: [${KEY}], adminToken: ${ADMIN} }
providers:
  - { name: fast, type: openai, baseUrl: "http://127.0.0.1:${ports.fast}/v1", models: [gpt-4o-mini], priority: 2 }
  - { name: flaky, type: openai, baseUrl: "http://127.0.0.1:${ports.flaky}/v1", models: [gpt-4o-mini], priority: 1 }
  - { name: slow, type: openai, baseUrl: "http://127.0.0.1:${ports.slow}/v1", models: [gpt-4o-mini, slow-model], priority: 3 }
routing: { mode: parallel, maxParallel: 2, healthCheck: { intervalMs: 1000, timeoutMs: 500 } }
cache: { redis: { url: "redis://127.0.0.1:${ports.redis}" } }
telemetry: { logLevel: info }
`,
  );
  return file;
}

async function sample(base: string, t0: number, samples: Sample[]): Promise<void> {
  const m = parseExposition(await (await fetch(`${base}/metrics`)).text());
  samples.push({
    t: Math.round((performance.now() - t0) / 1000),
    heapMb: sum(m, 'nodejs_heap_size_used_bytes') / 1e6,
    rssMb: sum(m, 'process_resident_memory_bytes') / 1e6,
    active: sum(m, 'llm_proxy_tasks_active'),
  });
}

/**
 * CONCURRENCY clients sending until SECONDS have passed, sampling /metrics about 20 times;
 * Redis is killed at 30% of the run and restarted at 45%.
 */
async function runTraffic(
  base: string,
  t0: number,
  redis: RedisHolder,
  redisPort: number,
  samples: Sample[],
  counts: Counts,
): Promise<void> {
  const until = t0 + SECONDS * 1000;
  let redisKilled = false;
  let redisRestarted = false;
  let i = 0;
  let nextSample = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const elapsed = performance.now() - t0;
        if (!redisKilled && elapsed > SECONDS * 300) {
          redisKilled = true;
          redis.proc.kill('SIGKILL');
        }
        if (redisKilled && !redisRestarted && elapsed > SECONDS * 450) {
          redisRestarted = true;
          redis.proc = redisOn(redisPort);
        }
        if (elapsed >= nextSample) {
          nextSample = elapsed + Math.max(1_000, (SECONDS * 1000) / 20);
          await sample(base, t0, samples);
        }
        await sendOne(base, i++, counts);
      }
    }),
  );
}

const HEADERS = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

/** Request `n` of the mix: JSON, streams, cache hits, a slow model; every 7th disconnects. */
async function sendOne(base: string, n: number, counts: Counts): Promise<void> {
  const kind = n % 6;
  const stream = kind === 1 || kind === 4;
  const body = {
    model: kind === 5 ? 'slow-model' : 'gpt-4o-mini',
    stream,
    ...(kind === 2 ? { temperature: 0 } : {}),
    messages: [{ role: 'user', content: kind === 2 ? `cached ${n % 20}` : `soak ${n}` }],
  };
  const ac = new AbortController();
  const disconnect = n % 7 === 0;
  if (disconnect) void sleep(5 + (n % 50), uncancelled).then(() => ac.abort());
  counts.sent++;
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    await res.text();
    if (res.ok) counts.ok++;
    else counts.failed++;
  } catch {
    if (ac.signal.aborted) counts.aborted++;
    else counts.failed++;
  }
}

/** `llm-proxy check-leaks --drain` against the proxy: its exit code and output. */
function checkLeaks(base: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [
      CLI,
      'check-leaks',
      '--url',
      base,
      '--drain',
      '--admin-token',
      ADMIN,
      '--timeout-ms',
      '10000',
    ]);
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Median heap of the second half minus the first, once the first 20% (warm-up) is dropped. */
function heapGrowth(samples: Sample[]): number {
  const settled = samples.slice(Math.floor(samples.length * 0.2));
  const firstHalf = settled.slice(0, Math.ceil(settled.length / 2)).map((s) => s.heapMb);
  const secondHalf = settled.slice(Math.ceil(settled.length / 2)).map((s) => s.heapMb);
  return secondHalf.length > 0 && firstHalf.length > 0 ? median(secondHalf) - median(firstHalf) : 0;
}

function report(samples: Sample[], counts: Counts, growth: number, checkCode: number): void {
  console.log(
    `soak: ${SECONDS}s, ${CONCURRENCY} clients, redis killed at ${Math.round(SECONDS * 0.3)}s and restarted at ${Math.round(SECONDS * 0.45)}s`,
  );
  console.log(
    table(
      samples.map((s) => ({
        't s': s.t,
        'heap MB': s.heapMb,
        'rss MB': s.rssMb,
        'active tasks': s.active,
      })),
    ),
  );
  console.log(
    table([
      {
        requests: counts.sent,
        ok: counts.ok,
        'client aborts': counts.aborted,
        'non-2xx/errors': counts.failed,
        'heap growth MB': growth,
        'bound MB': GROWTH_MB,
        'check-leaks exit': checkCode,
      },
    ]),
  );
}

process.exitCode = await main();
