/**
 * npm run bench:tasks — the cost of one spawned-and-settled task next to a baseline measured in
 * the same run (a bare promise with its own AbortController), untraced and traced (OTel SDK,
 * BatchSpanProcessor, in-memory exporter), and the heap after 1M tasks.
 * Medians of several rounds; machines here are 2 noisy cores, so read the ratios.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { CONTRACT_TASKS, HTTP_REQUEST } from '../tasks/catalog.js';
import { Supervisor } from '../tasks/supervisor.js';
import { silentLogger } from '../telemetry/logger.js';
import { median, table } from './stats.js';

const N = Number(process.env.BENCH_TASKS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BATCH = 100;

type Runner = (readSignal: boolean) => Promise<void>;

async function baseline(readSignal: boolean): Promise<void> {
  const work = async (signal: AbortSignal | undefined): Promise<number> =>
    signal === undefined ? 1 : 2;
  for (let i = 0; i < N; i += BATCH) {
    const batch: Promise<number>[] = [];
    for (let j = 0; j < BATCH; j++) {
      const ac = new AbortController();
      batch.push(work(readSignal ? ac.signal : undefined));
    }
    await Promise.all(batch);
  }
}

function spawner(supervisor: Supervisor): Runner {
  const scope = supervisor.scope('http');
  return async (readSignal) => {
    for (let i = 0; i < N; i += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let j = 0; j < BATCH; j++) {
        batch.push(
          scope.spawn(HTTP_REQUEST, async (ctx) => (readSignal ? (ctx.signal.aborted ? 0 : 2) : 1))
            .settled,
        );
      }
      await Promise.all(batch);
    }
  };
}

async function nsPerTask(run: Runner, readSignal: boolean): Promise<number> {
  await run(readSignal); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await run(readSignal);
    samples.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return median(samples);
}

class CountingExporter extends InMemorySpanExporter {
  exported = 0;
  override export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const untraced = new Supervisor({
    registry: new Registry(),
    logger: silentLogger(),
    tasks: CONTRACT_TASKS,
  });
  const exporter = new CountingExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, scheduledDelayMillis: 200 }),
    ],
  });
  const traced = new Supervisor({
    registry: new Registry(),
    logger: silentLogger(),
    tasks: CONTRACT_TASKS,
    tracer: provider.getTracer('bench'),
  });
  const tracedRun = spawner(traced);
  const tracedAndDrained: Runner = async (readSignal) => {
    await tracedRun(readSignal);
    await provider.forceFlush();
  };

  const rows: Record<string, string | number>[] = [];
  const tracedTasks = 2 * (ROUNDS + 1) * N;
  for (const readSignal of [true, false]) {
    const base = await nsPerTask(baseline, readSignal);
    const plain = await nsPerTask(spawner(untraced), readSignal);
    const withSpans = await nsPerTask(tracedAndDrained, readSignal);
    const label = readSignal ? 'signal read' : 'signal unread';
    rows.push({ case: `baseline (${label})`, 'ns/task': base, ratio: 1 });
    rows.push({ case: `spawner untraced (${label})`, 'ns/task': plain, ratio: plain / base });
    rows.push({ case: `spawner traced (${label})`, 'ns/task': withSpans, ratio: withSpans / base });
  }
  await provider.forceFlush();
  const spansExported = exporter.exported;
  await provider.shutdown();

  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const million = spawner(untraced);
  for (let i = 0; i < Math.ceil(1_000_000 / N); i++) await million(true);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;

  console.log(
    `bench:tasks  N=${N} per round, ${ROUNDS} rounds (median), batch ${BATCH}, node ${process.version}`,
  );
  console.log(table(rows));
  console.log(
    `heap after 1M more untraced tasks: ${((heapAfter - heapBefore) / 1e6).toFixed(2)} MB delta` +
      (typeof (globalThis as { gc?: unknown }).gc === 'function'
        ? ''
        : ' (run with --expose-gc for a settled figure)'),
  );
  console.log(
    `spans exported by the traced runs: ${spansExported} (every traced task: ${spansExported >= tracedTasks ? 'yes' : 'NO'})`,
  );
  console.log(`live tasks after the run: ${untraced.liveCount() + traced.liveCount()}`);
}

await main();
