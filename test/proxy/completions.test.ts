/**
 * POST /v1/completions (legacy text completions) through the official SDK: passed through
 * byte for byte to a provider listing `completions` in nativeApis (a loopback server speaking
 * the completions wire format, as vLLM does), never to one that does not list it, and a 400
 * naming the model when none of the model's providers can take it.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

/** A vLLM-like completions upstream: JSON, or SSE chunks ending with [DONE]. */
interface Completions {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

const completion = (text: string, finish: string | null, usage?: object) => ({
  id: 'cmpl-1',
  object: 'text_completion',
  created: 1,
  model: 'base-7b',
  choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  ...(usage === undefined ? {} : { usage }),
});

async function completionsUpstream(): Promise<Completions> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      if (req.url !== '/v1/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
        return;
      }
      const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
      if ((JSON.parse(body) as { stream?: boolean }).stream !== true) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(completion(' world', 'stop', usage)));
        return;
      }
      res.setHeader('content-type', 'text/event-stream');
      for (const [text, finish] of [
        [' wor', null],
        ['ld', 'stop'],
      ] as const)
        res.write(`data: ${JSON.stringify(completion(text, finish))}\n\n`);
      res.write(`data: ${JSON.stringify({ ...completion('', null, usage), choices: [] })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    bodies,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

let vllm: Completions;
let anthropic: FakeUpstream;
let proxy: RunningProxy;

beforeAll(async () => {
  vllm = await completionsUpstream();
  anthropic = await startFakeUpstream({ name: 'ant' });
});
afterAll(async () => {
  await vllm.close();
  await anthropic.close();
});
afterEach(async () => {
  await proxy.stop();
});

const config = () => ({
  providers: [
    // Tried first for base-7b, but it cannot take completions: never a candidate.
    {
      name: 'claude',
      type: 'anthropic',
      baseUrl: `${anthropic.url}/v1`,
      priority: 1,
      models: ['base-7b', 'claude-x'],
    },
    { name: 'vllm', type: 'openai', baseUrl: vllm.url, priority: 2, models: ['base-7b'] },
  ],
  routing: { healthCheck: { enabled: false } },
});

describe('POST /v1/completions', () => {
  it('passes a JSON request through unchanged to the provider that serves completions', async () => {
    proxy = await startProxy(config());
    const before = vllm.bodies.length;
    const answer = await proxy.client.completions.create({
      model: 'base-7b',
      prompt: 'hello',
      max_tokens: 4,
    });
    expect(answer.choices[0]!.text).toBe(' world');
    expect(answer.usage?.total_tokens).toBe(5);
    expect(JSON.parse(vllm.bodies[before]!)).toEqual({
      model: 'base-7b',
      prompt: 'hello',
      max_tokens: 4,
    });
    expect(anthropic.requests).toBe(0);
    expect(
      await proxy.metric('llm_proxy_http_requests_total', {
        route: '/v1/completions',
        status: '200',
      }),
    ).toBe(1);
    expect(
      await proxy.metric('llm_proxy_tokens_total', { provider: 'vllm', direction: 'output' }),
    ).toBe(2);
  });

  it('relays a stream to its [DONE]', async () => {
    proxy = await startProxy(config());
    const stream = await proxy.client.completions.create({
      model: 'base-7b',
      prompt: 'hello',
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(' world');
  });

  it('is a 400 naming the model when none of its providers serves completions', async () => {
    proxy = await startProxy(config());
    const res = await fetch(`${proxy.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', prompt: 'hi' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string; code: string } };
    expect(body.error.param).toBe('model');
    expect(body.error.code).toBe('unsupported_api');
    expect(body.error.message).toContain("'claude-x'");
    expect(body.error.message).toContain('nativeApis');
  });

  it('refuses a body without a prompt, naming the param', async () => {
    proxy = await startProxy(config());
    const res = await fetch(`${proxy.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'base-7b' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string } };
    expect(body.error.param).toBe('prompt');
  });
});
