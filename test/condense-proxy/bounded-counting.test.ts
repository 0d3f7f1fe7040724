/**
 * Counting a condensed model's prompt tokens never holds the process: while a request with
 * a 200,000-letter message is counted, /healthz still answers at once, and a request whose
 * counting outlives server.requestTimeoutMs gets its 504. (Encoding such a message used to
 * block the event loop for 16-17 s, and 300,000 CJK characters for minutes, deadline or not.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const config = (server: Record<string, unknown> = {}) => ({
  server,
  providers: [{ name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
  routing: { healthCheck: { enabled: false } },
  condense: { summarizerModel: 'demo-model', models: { 'demo-model': { maxTokens: 300 } } },
});

/** `n` CJK ideographs from a fixed seed, without punctuation: one run for the tokenizer. */
function ideographs(n: number, seed = 7): string {
  let x = seed;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode(0x4e00 + (x % 20_000));
  }
  return s;
}

const chat = (p: RunningProxy, messages: { role: string; content: string }[]) =>
  fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-model', messages }),
  });

describe('token counting for condensation', () => {
  it('leaves /healthz answering within seconds while a 200,000-letter message is counted', async () => {
    const p = (proxy = await startProxy(config()));
    let done = false;
    const answer = chat(p, [
      { role: 'user', content: 'a'.repeat(200_000) },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: ideographs(60_000) },
    ]).finally(() => (done = true));
    const waits: number[] = [];
    while (!done) {
      const started = performance.now();
      const health = await fetch(`${p.url}/healthz`);
      waits.push(performance.now() - started);
      expect(health.status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The latest turn alone is over the budget: counted, then refused as it should be.
    const res = await answer;
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'context_length_exceeded' } });
    expect(waits.length).toBeGreaterThanOrEqual(2);
    // Before the fix one probe waited for the whole count: 16 s and more. The bound leaves
    // room for a loaded 2-core CI machine (1.4 s was seen with four test processes running).
    expect(Math.max(...waits)).toBeLessThan(5_000);
  });

  it('answers 504 when counting outlives server.requestTimeoutMs', async () => {
    const p = (proxy = await startProxy(config({ requestTimeoutMs: 50 })));
    const started = performance.now();
    const res = await chat(p, [{ role: 'user', content: ideographs(150_000) }]);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'request_timeout' } });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(
      await p.metric('llm_proxy_tasks_finished_total', {
        owner: 'http',
        task: 'request',
        outcome: 'timed_out',
      }),
    ).toBe(1);
  });
});
