/**
 * A provider's malformed answers and the response cache: what cannot be replayed in both
 * shapes (stream and JSON) is passed on once and never stored, so it is never served from
 * the cache as an error; a 200 that is no completion fails over; and an entry stored before
 * answers were checked is answered from upstream, which replaces it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { responseCacheKey } from '../../src/cache/index.js';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const CHUNK = (content: string) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  });

/** What the misbehaving upstream answers to chat completions, by request shape. */
interface Script {
  json?: string;
  sse?: string[];
}

let bad: { url: string; calls: number; close(): Promise<void> } | undefined;
let good: FakeUpstream | undefined;
let proxy: RunningProxy | undefined;

afterEach(async () => {
  await proxy?.stop();
  await bad?.close();
  await good?.close();
  proxy = bad = good = undefined;
});

async function misbehaving(script: Script): Promise<NonNullable<typeof bad>> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      calls++;
      if ((JSON.parse(text) as { stream?: boolean }).stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const [first, ...rest] = script.sse ?? [];
        if (first !== undefined) res.write(`data: ${first}\n\n`);
        // The rest a moment later, in reads of their own, as a provider generating tokens
        // sends them: written at once they may reach the proxy in the first event's read.
        setTimeout(() => {
          for (const data of rest) res.write(`data: ${data}\n\n`);
          res.end('data: [DONE]\n\n');
        }, 40);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(script.json ?? '{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return calls;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const provider = (name: string, url: string, priority = 1) => ({
  name,
  type: 'openai',
  baseUrl: `${url}/v1`,
  models: ['m'],
  priority,
});

async function start(providers: object[]): Promise<RunningProxy> {
  proxy = await startProxy({ providers, routing: { healthCheck: { enabled: false } } });
  return proxy;
}

const REQUEST = {
  model: 'm',
  temperature: 0,
  messages: [{ role: 'user' as const, content: 'hi' }],
};

async function chat(
  p: RunningProxy,
  stream: boolean,
): Promise<{ status: number; cache: string | null; text: string }> {
  const res = await fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...REQUEST, stream }),
  });
  return {
    status: res.status,
    cache: res.headers.get('x-llm-proxy-cache'),
    text: await res.text(),
  };
}

describe('malformed answers and the response cache', () => {
  it('ends a stream at a broken event once, and never replays it as a 500', async () => {
    bad = await misbehaving({
      sse: [CHUNK('a'), '{"choices":[{"delta":{"content":"x"}', CHUNK('b')],
      json: JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'ab' }, finish_reason: 'stop' },
        ],
      }),
    });
    const p = await start([provider('bad', bad.url)]);
    const streamed = await chat(p, true);
    expect(streamed).toMatchObject({ status: 200, cache: 'miss' });
    // The broken event is not relayed: the stream ends there with the proxy's error event.
    expect(streamed.text).not.toContain('"content":"x"');
    expect(streamed.text).toContain('"code":"upstream_stream_error"');
    // Not stored: the JSON request goes upstream (200), where before it replayed as a 500.
    expect(await chat(p, false)).toMatchObject({ status: 200, cache: 'miss' });
    expect(bad.calls).toBe(2);
    // The well-formed JSON answer is stored, and replays as a stream too.
    expect(await chat(p, true)).toMatchObject({ status: 200, cache: 'hit' });
    expect(bad.calls).toBe(2);
  });

  it('does not store a completion whose choices carry no message', async () => {
    bad = await misbehaving({ json: '{"id":"x","choices":[{"index":0,"message":null}]}' });
    const p = await start([provider('bad', bad.url)]);
    expect(await chat(p, false)).toMatchObject({ status: 200, cache: 'miss' });
    expect(await chat(p, true)).toMatchObject({ status: 200, cache: 'miss' });
    expect(bad.calls).toBe(2);
  });

  it('fails over from a 200 that is no completion', async () => {
    bad = await misbehaving({ json: '{"id":"x"}' });
    good = await startFakeUpstream({ name: 'good' });
    const p = await start([provider('bad', bad.url, 1), provider('good', good.url, 2)]);
    const res = await p.client.chat.completions.create(REQUEST).withResponse();
    expect(res.response.headers.get('x-llm-proxy-provider')).toBe('good');
    expect(
      await p.metric('llm_proxy_upstream_requests_total', {
        provider: 'bad',
        outcome: 'invalid_response',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers from upstream when a stored entry cannot be replayed in the shape asked', async () => {
    good = await startFakeUpstream({ name: 'good' });
    const p = await start([provider('good', good.url)]);
    // As an older version could have stored it: chunks the JSON shape cannot be built from.
    p.app.cache!.set(responseCacheKey('chat', REQUEST), {
      provider: 'good',
      chunks: [CHUNK('a'), 'null'],
      storedAt: Date.now(),
    });
    const first = await chat(p, false);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toMatchObject({ choices: [{ message: { role: 'assistant' } }] });
    // The upstream answer replaced the entry: the next one is a hit.
    expect(await chat(p, false)).toMatchObject({ status: 200, cache: 'hit' });
  });
});
