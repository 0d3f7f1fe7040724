/**
 * Black box: a proxy with its loops at short intervals, tracing through the real SDK and
 * OTLP/HTTP exporter to a loopback receiver in this test. Each loop's runs arrive as
 * finished spans while the loops still run, each linked to its loop task's span.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armTimer } from '../../src/tasks/timers.js';
import { startTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { expectNoLeaks, resourceBaseline } from '../support/no-leaks.js';
import { startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../support/otlp-receiver.js';
import { startProxy } from '../support/proxy.js';

let receiver: OtlpReceiver;
let receiverUrl: string;
let spans: OtlpSpan[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spans = receiver.spans;
  receiverUrl = receiver.url;
});

afterAll(async () => {
  await receiver.close();
});

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

const LOOPS = ['health_checker/loop', 'unified_cache/cleanup', 'unified_cache/monitor'];

/** A loop task's own span (the one iteration spans link to): it has a task id. */
const isLifetime = (s: OtlpSpan): boolean =>
  attr(s, 'task.id') !== undefined && attr(s, 'task.kind') === 'loop';

describe('loop iteration spans, black box', () => {
  it('exports a finished span per iteration of every loop within a few intervals, linked to the loop span', async () => {
    const baseline = resourceBaseline();
    const tracing: Tracing = (await startTracing(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      'loop-spans-test',
      { armTimer },
    ))!;
    const p = await startProxy(
      {
        providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
        routing: { healthCheck: { intervalMs: 100, timeoutMs: 100 } },
        cache: { cleanupIntervalMs: 100, monitorIntervalMs: 100 },
      },
      {},
      { tracer: tracing.tracer },
    );
    try {
      const iterations = (name: string): OtlpSpan[] =>
        spans.filter((s) => s.name === name && attr(s, 'loop.iteration') !== undefined);
      const until = Date.now() + 5_000;
      while (LOOPS.some((name) => iterations(name).length < 3)) {
        if (Date.now() > until) throw new Error('timed out waiting for three runs of each loop');
        await new Promise((r) => setTimeout(r, 20));
      }
      // The loops are still running: their lifetime spans have not been exported yet.
      expect(spans.filter(isLifetime)).toEqual([]);
      for (const name of LOOPS) {
        const runs = iterations(name);
        expect(runs.slice(0, 3).map((s) => Number(attr(s, 'loop.iteration')))).toEqual([1, 2, 3]);
        expect(new Set(runs.map((s) => attr(s, 'loop.outcome')))).toEqual(new Set(['completed']));
        expect(new Set(runs.map((s) => s.links?.[0]?.spanId)).size).toBe(1);
        expect(runs.every((s) => s.parentSpanId === undefined || s.parentSpanId === '')).toBe(true);
      }
      // The health rounds' probes are children of their round's span.
      const round = iterations('health_checker/loop')[0]!;
      const probes = spans.filter((s) => s.name === 'health_checker/probe');
      expect(
        probes.some((s) => s.parentSpanId === round.spanId && s.traceId === round.traceId),
      ).toBe(true);
    } finally {
      // stop() without its leak check, which would see the exporter's keep-alive connection
      // to the receiver: the check runs once tracing has flushed the loops' lifetime spans
      // and the receiver has dropped that connection.
      p.server.stopAccepting();
      await p.app.close();
      await p.server.close();
      await tracing.shutdown();
      receiver.server.closeAllConnections();
      await expectNoLeaks([p.app], baseline);
    }
    // Once the loops end, their lifetime spans arrive too, the ones the iterations link to.
    const lifetimes = spans.filter(isLifetime);
    expect(lifetimes.map((s) => s.name).sort()).toEqual([...LOOPS].sort());
    for (const s of spans.filter((x) => attr(x, 'loop.iteration') !== undefined)) {
      expect(lifetimes.map((l) => l.spanId)).toContain(s.links?.[0]?.spanId);
    }
  });
});
