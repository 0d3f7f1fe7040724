/**
 * The seed's "health monitoring cancellation": stopping the app (the drain a SIGTERM runs)
 * cancels the `health_checker/loop` and a `health_checker/probe` still waiting on a slow
 * upstream, with reason `shutdown`; both settle at once, the probe's connection is closed
 * (the upstream sees the disconnect), and nothing is left running or leaked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy } from '../support/proxy.js';

const MODELS_PATH = '/v1/models';
let upstream: FakeUpstream;

beforeAll(async () => {
  // Every answer, the probe's GET /v1/models included, takes 20 s: far beyond the test.
  upstream = await startFakeUpstream({ name: 'slow', latencyMs: 20_000 });
});
afterAll(async () => {
  await upstream.close();
});

describe('health monitoring cancellation', () => {
  it('cancels the health loop and its in-flight probe on stop; both settle, the probe disconnects, nothing leaked', async () => {
    const proxy = await startProxy({
      providers: [
        { name: 'slow', type: 'openai', baseUrl: `${upstream.url}/v1`, models: ['gpt-4o-mini'] },
      ],
      routing: { healthCheck: { enabled: true, intervalMs: 30_000, timeoutMs: 25_000 } },
      server: { shutdownDeadlineMs: 5_000 },
    });
    const health = (name: string, labels: Record<string, string>) =>
      proxy.metric(name, { owner: 'health_checker', ...labels });
    try {
      // The first round's probe has reached the upstream and waits for its answer.
      await upstream.waitFor((e) => e.kind === 'request' && e.path === MODELS_PATH, 5_000);
      expect(await health('llm_proxy_tasks_active', { task: 'loop' })).toBe(1);
      expect(await health('llm_proxy_tasks_active', { task: 'probe' })).toBe(1);

      const t0 = performance.now();
      const summary = await proxy.app.drain();
      expect(performance.now() - t0).toBeLessThan(3_000);
      expect(summary).toMatchObject({ unsettledTasks: 0, activeTasks: 0, leakedTotal: 0 });

      for (const task of ['loop', 'probe']) {
        expect(
          await health('llm_proxy_task_cancellations_total', { task, reason: 'shutdown' }),
        ).toBe(1);
        expect(await health('llm_proxy_tasks_finished_total', { task, outcome: 'cancelled' })).toBe(
          1,
        );
        expect(await health('llm_proxy_tasks_active', { task })).toBe(0);
      }
      expect(await health('llm_proxy_tasks_leaked_total', {})).toBe(0);
      // The probe gave up its request: the upstream saw the client go.
      await upstream.waitFor((e) => e.kind === 'disconnect' && e.path === MODELS_PATH, 5_000);
    } finally {
      await proxy.stop();
    }
  });
});
