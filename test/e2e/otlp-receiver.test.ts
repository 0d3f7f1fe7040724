/**
 * The leak gate's trace backend (test/e2e/otlp-receiver.js) on its own: run as the gate runs
 * it (a real process on loopback), fed by the proxy's own http/protobuf exporter, with the
 * cache cleanup and health loops on short intervals. Its `loops` check must pass on what
 * arrived and fail for a loop that sent nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { armTimer, sleep } from '../../src/tasks/timers.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { freePort } from '../support/ports.js';

const RECEIVER = fileURLToPath(new URL('./otlp-receiver.js', import.meta.url));
const forever = new AbortController().signal;

let dir: string;
let spansFile: string;
let receiver: ChildProcess;
let upstream: FakeUpstream;

/** Runs the receiver's `loops` check on what arrived. */
function loops(...names: string[]): { status: number | null; stdout: string } {
  const run = spawnSync(process.execPath, [RECEIVER, 'loops', spansFile, ...names], {
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otlp-receiver-'));
  spansFile = join(dir, 'spans.jsonl');
  const port = await freePort();
  receiver = spawn(process.execPath, [RECEIVER, 'serve', String(port), spansFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    receiver.stdout!.once('data', () => resolve());
    receiver.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  upstream = await startFakeUpstream({ name: 'probed' });
  // Default protocol (http/protobuf): the project's own exporter, as in the gate.
  const tracing = (await startTracing(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    'test',
    { armTimer },
  ))!;
  const config = parseConfig(
    {
      server: { port: 0 },
      providers: [
        { name: 'up', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { intervalMs: 200, timeoutMs: 150 } },
      cache: { cleanupIntervalMs: 200, monitorIntervalMs: 200 },
    },
    {},
  );
  const app = createApp({
    config,
    tracer: tracing.tracer,
    logger: createLogger({ level: 'error' }),
  });
  app.start();
  await sleep(1_200, forever);
  await app.close();
  await tracing.shutdown();
});

afterAll(async () => {
  receiver.kill('SIGTERM');
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the leak gate OTLP receiver', () => {
  it('decodes the proxy protobuf export: each cleanup and health-loop run is a root span with its iteration', () => {
    const run = loops('unified_cache/cleanup', 'health_checker/loop');
    expect(run.stdout).toMatch(/unified_cache\/cleanup: \d+ iterations/);
    expect(run.stdout).toMatch(/health_checker\/loop: \d+ iterations/);
    expect(run.status).toBe(0);
  });

  it('fails for a loop that sent no span', () => {
    const run = loops('health_checker/loop', 'nobody/loop');
    expect(run.stdout).toContain('nobody/loop: no span named so');
    expect(run.status).toBe(1);
  });
});
