/**
 * The fallback engine hands the winning answer to the route's consumer inside the winning
 * attempt's task: the attempt holds the answer while it is consumed and ends when consuming
 * returns; `run` settles only after that attempt has ended. There is no handshake a route
 * could forget, so no attempt outlives its request.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.js';
import { ProviderCooldowns } from '../../src/routing/cooldowns.js';
import { FallbackEngine, type Win } from '../../src/routing/engine.js';
import {
  CONTRACT_TASKS,
  HTTP_REQUEST,
  Supervisor,
  type CancelSignal,
} from '../../src/tasks/index.js';
import { sleep } from '../../src/tasks/timers.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { ProxyMetrics } from '../../src/telemetry/proxy-metrics.js';
import type { ChatAnswer, JsonAnswer, Provider, StreamAnswer } from '../../src/upstream/index.js';

type Behaviour = (signal: CancelSignal) => Promise<ChatAnswer>;

function engineFor(mode: 'sequential' | 'parallel', behaviours: Record<string, Behaviour>) {
  const names = Object.keys(behaviours);
  const config: Config = parseConfig(
    {
      providers: names.map((name) => ({ name, type: 'demo', models: ['m'] })),
      routing: { mode },
    },
    {},
  );
  const registry = new Registry();
  const providers: Provider[] = config.providers.map((pc) => ({
    name: pc.name,
    config: pc,
    nativeApis: new Set(['chat', 'embeddings']),
    chat: (_req, opts) => behaviours[pc.name]!(opts.signal),
    embeddings: () => Promise.reject(new Error('not used')),
    probe: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }));
  const engine = new FallbackEngine({
    providers,
    routing: config.routing,
    metrics: new ProxyMetrics(registry, names),
    health: () => 'healthy',
    cooldowns: new ProviderCooldowns({
      providers: names,
      maxMs: 0,
      registry,
      logger: silentLogger(),
    }),
  });
  return { engine, registry };
}

const json = (body: string): JsonAnswer => ({ kind: 'json', body, usage: undefined });

/** A stream answer whose close() is recorded. */
function stream(closed: string[], name: string): StreamAnswer {
  return {
    kind: 'stream',
    first: 'data: {}\n\n',
    rest: { next: () => Promise.resolve({ done: true, value: undefined }) },
    stats: { usage: undefined, done: true, captured: undefined },
    close: () => closed.push(name),
  };
}

/** Resolves with `answer` after `ms`, or rejects once the try is cancelled. */
const after =
  (ms: number, answer: () => ChatAnswer): Behaviour =>
  async (signal) => {
    if (!(await sleep(ms, signal))) throw new Error('cancelled');
    return answer();
  };

/** The operation: one chat call to the provider. */
const ask = (p: Provider, _call: unknown, signal: CancelSignal) =>
  p.chat({ model: 'm', messages: [] }, { signal });

describe('the fallback engine consumes the winner inside its attempt', () => {
  let supervisor: Supervisor;
  beforeEach(() => {
    supervisor = new Supervisor({
      registry: new Registry(),
      logger: silentLogger(),
      tasks: CONTRACT_TASKS,
    });
  });
  afterEach(async () => {
    await supervisor.shutdown(2_000);
  });

  const live = (task: string): number =>
    supervisor.snapshot().filter((t) => t.task === task).length;

  it('holds the winning attempt while consuming and settles only after it ended', async () => {
    const { engine } = engineFor('sequential', { a: after(5, () => json('{"x":1}')) });
    const seen: number[] = [];
    const routed = await supervisor.scope('http').spawn(HTTP_REQUEST, (ctx) =>
      engine.run(
        ctx,
        'm',
        'the-call',
        (p, call, signal, otel) => {
          expect(call).toBe('the-call');
          return p.chat({ model: 'm', messages: [] }, { signal, otelContext: otel });
        },
        async (win: Win<ChatAnswer>, call) => {
          seen.push(live('attempt'));
          await sleep(30, new AbortController().signal);
          seen.push(live('attempt'));
          return `${call}:${win.provider}:${win.answer.kind}`;
        },
      ),
    ).settled;
    expect(routed.outcome).toBe('completed');
    if (routed.outcome !== 'completed') return;
    expect(routed.value.result).toBe('the-call:a:json');
    expect(routed.value.provider).toBe('a');
    // The attempt was alive through consumption, and had ended before run() settled.
    expect(seen).toEqual([1, 1]);
    expect(live('attempt')).toBe(0);
  });

  it("fails run() with the consumer's error, and still ends the attempt", async () => {
    const closed: string[] = [];
    const { engine } = engineFor('sequential', { a: after(5, () => stream(closed, 'a')) });
    const outcome = await supervisor
      .scope('http')
      .spawn(HTTP_REQUEST, (ctx) =>
        engine.run(ctx, 'm', undefined, ask, () =>
          Promise.reject(new Error('client write failed')),
        ),
      ).settled;
    expect(outcome.outcome).toBe('failed');
    if (outcome.outcome === 'failed')
      expect(String(outcome.error)).toContain('client write failed');
    expect(closed).toEqual(['a']);
    expect(live('attempt')).toBe(0);
  });

  it('consumes only the first answer of a parallel race; the loser is cancelled, never consumed', async () => {
    const closed: string[] = [];
    const { engine } = engineFor('parallel', {
      fast: after(5, () => stream(closed, 'fast')),
      slow: after(2_000, () => stream(closed, 'slow')),
    });
    const consumed: string[] = [];
    const outcome = await supervisor.scope('http').spawn(HTTP_REQUEST, (ctx) =>
      engine.run(ctx, 'm', undefined, ask, (win) => {
        consumed.push(win.provider);
        // The stream is still open while it is consumed: the attempt closes it afterwards.
        expect(closed).toEqual([]);
        return Promise.resolve(win.provider);
      }),
    ).settled;
    expect(outcome.outcome).toBe('completed');
    expect(consumed).toEqual(['fast']);
    expect(closed).toEqual(['fast']);
    expect(live('attempt')).toBe(0);
  });
});
