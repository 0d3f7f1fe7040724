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

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'llmp-soak-'));
  const [fastPort, flakyPort, slowPort, redisPort, proxyPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const procs: Proc[] = [];
  let redis = redisOn(redisPort);
  try {
    procs.push(
      await startProc(
        [CLI, 'fake-upstream', '--port', String(fastPort), '--latency-ms', '5'],
        /listening/,
      ),
    );
    procs.push(
      await startProc(
        [
          CLI,
          'fake-upstream',
          '--port',
          String(flakyPort),
          '--latency-ms',
          '10',
          '--fail-rate',
          '0.2',
        ],
        /listening/,
      ),
    );
    procs.push(
      await startProc(
        [
          CLI,
          'fake-upstream',
          '--port',
          String(slowPort),
          '--latency-ms',
          '150',
          '--stream-chunks',
          '10',
        ],
        /listening/,
      ),
    );
    const file = join(dir, 'soak.yaml');
    writeFileSync(
      file,
      `server: { port: ${proxyPort}, shutdownDeadlineMs: 10000 }
auth: { apiKeys: [${KEY}], adminToken: ${ADMIN} }
providers:
  - { name: fast, type: openai, baseUrl: "http://127.0.0.1:${fastPort}/v1", models: [gpt-4o-mini], priority: 2 }
  - { name: flaky, type: openai, baseUrl: "http://127.0.0.1:${flakyPort}/v1", models: [gpt-4o-mini], priority: 1 }
  - { name: slow, type: openai, baseUrl: "http://127.0.0.1:${slowPort}/v1", models: [gpt-4o-mini, slow-model], priority: 3 }
routing: { mode: parallel, maxParallel: 2, healthCheck: { intervalMs: 1000, timeoutMs: 500 } }
cache: { redis: { url: "redis://127.0.0.1:${redisPort}" } }
telemetry: { logLevel: info }
`,
    );
    const proxy = await startProc(
      [...PROXY_NODE_FLAGS, CLI, '--config', file],
      /llm-proxy listening/,
    );
    procs.push(proxy);
    const base = `http://127.0.0.1:${proxyPort}`;
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

    const samples: { t: number; heapMb: number; rssMb: number; active: number }[] = [];
    const sample = async (): Promise<void> => {
      const m = parseExposition(await (await fetch(`${base}/metrics`)).text());
      samples.push({
        t: Math.round((performance.now() - t0) / 1000),
        heapMb: sum(m, 'nodejs_heap_size_used_bytes') / 1e6,
        rssMb: sum(m, 'process_resident_memory_bytes') / 1e6,
        active: sum(m, 'llm_proxy_tasks_active'),
      });
    };
    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;
    let sent = 0;
    let ok = 0;
    let aborted = 0;
    let failed = 0;
    let redisKilled = false;
    let redisRestarted = false;
    let i = 0;
    const one = async (): Promise<void> => {
      const n = i++;
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
      sent++;
      try {
        const res = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: ac.signal,
        });
        await res.text();
        if (res.ok) ok++;
        else failed++;
      } catch {
        if (ac.signal.aborted) aborted++;
        else failed++;
      }
    };
    let nextSample = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          const elapsed = performance.now() - t0;
          if (!redisKilled && elapsed > SECONDS * 300) {
            redisKilled = true;
            redis.kill('SIGKILL');
          }
          if (redisKilled && !redisRestarted && elapsed > SECONDS * 450) {
            redisRestarted = true;
            redis = redisOn(redisPort);
          }
          if (elapsed >= nextSample) {
            nextSample = elapsed + Math.max(1_000, (SECONDS * 1000) / 20);
            await sample();
          }
          await one();
        }
      }),
    );
    await sample();
    const check = await new Promise<{ code: number; out: string }>((resolve) => {
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
    const settled = samples.slice(Math.floor(samples.length * 0.2));
    const firstHalf = settled.slice(0, Math.ceil(settled.length / 2)).map((s) => s.heapMb);
    const secondHalf = settled.slice(Math.ceil(settled.length / 2)).map((s) => s.heapMb);
    const growth =
      secondHalf.length > 0 && firstHalf.length > 0 ? median(secondHalf) - median(firstHalf) : 0;

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
          requests: sent,
          ok,
          'client aborts': aborted,
          'non-2xx/errors': failed,
          'heap growth MB': growth,
          'bound MB': GROWTH_MB,
          'check-leaks exit': check.code,
        },
      ]),
    );
    process.stdout.write(check.out);
    const pass = check.code === 0 && growth <= GROWTH_MB && ok > 0;
    console.log(pass ? 'soak: PASS' : 'soak: FAIL');
    return pass ? 0 : 1;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    redis.kill('SIGTERM');
  }
}

process.exitCode = await main();
