/**
 * A cached answer served in the other shape is the answer the provider would have given in
 * that shape: refusal, logprobs, annotations, system_fingerprint and service_tier survive a
 * hit, as the official SDK sees them. And the key holds every field that changes the answer,
 * so requests differing in one (reasoning_effort, a provider's own top_k) never share an entry.
 * The provider is a loopback server speaking the OpenAI wire format, JSON and SSE.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

type Json = Record<string, unknown>;

const HEAD = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'm' };
const CARRIED = { system_fingerprint: 'fp_test', service_tier: 'default' };
const USAGE = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
const CITATION = {
  type: 'url_citation',
  url_citation: { url: 'https://example.com', title: 'Example', start_index: 0, end_index: 6 },
};
const token = (t: string) => ({
  token: t,
  logprob: -0.25,
  bytes: [...Buffer.from(t)],
  top_logprobs: [],
});

/** What the provider answers: a refusal if asked to refuse, else text naming the knobs set. */
function answerTo(body: Json): { refusal?: string; content?: string } {
  const messages = body.messages as { content: string }[];
  if (messages.at(-1)?.content.includes('refuse') === true)
    return { refusal: "I can't help with that." };
  const knobs = ['reasoning_effort', 'verbosity', 'top_k'].map((k) => `${k}=${String(body[k])}`);
  return { content: `Answer with ${knobs.join(' ')}` };
}

function completion(body: Json): Json {
  const { refusal, content } = answerTo(body);
  const pieces = (refusal ?? content ?? '').match(/\S+\s*/g) ?? [];
  const message: Json = { role: 'assistant', content: content ?? null, refusal: refusal ?? null };
  if (content !== undefined) message.annotations = [CITATION];
  return {
    ...HEAD,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message,
        logprobs: {
          content: content === undefined ? null : pieces.map(token),
          refusal: refusal === undefined ? null : pieces.map(token),
        },
        finish_reason: 'stop',
      },
    ],
    usage: USAGE,
    ...CARRIED,
  };
}

/** The same answer as the API streams it: a piece per token, annotations last, obfuscated. */
function streamed(body: Json): string[] {
  const { refusal, content } = answerTo(body);
  const field = refusal === undefined ? 'content' : 'refusal';
  const includeUsage = (body.stream_options as Json | undefined)?.include_usage === true;
  const chunk = (choice: Json | undefined, extra: Json = {}) =>
    JSON.stringify({
      ...HEAD,
      object: 'chat.completion.chunk',
      ...CARRIED,
      choices:
        choice === undefined ? [] : [{ index: 0, logprobs: null, finish_reason: null, ...choice }],
      ...(includeUsage ? { usage: null } : {}),
      obfuscation: 'pad',
      ...extra,
    });
  const out = [chunk({ delta: { role: 'assistant', content: '', refusal: null } })];
  for (const piece of (refusal ?? content ?? '').match(/\S+\s*/g) ?? []) {
    const logprobs = { content: null, refusal: null, [field]: [token(piece)] };
    out.push(chunk({ delta: { [field]: piece }, logprobs }));
  }
  if (content !== undefined) out.push(chunk({ delta: { annotations: [CITATION] } }));
  out.push(chunk({ delta: {}, finish_reason: 'stop' }));
  if (includeUsage) out.push(chunk(undefined, { usage: USAGE }));
  return out;
}

let upstream: { url: string; bodies: Json[]; close(): Promise<void> } | undefined;
let proxy: RunningProxy | undefined;

afterEach(async () => {
  // Upstream first: it also closes the direct client's keep-alive sockets, which the
  // proxy's leak check would otherwise wait out.
  await upstream?.close();
  await proxy?.stop();
  proxy = upstream = undefined;
});

async function startUpstream(): Promise<NonNullable<typeof upstream>> {
  const bodies: Json[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Json;
      bodies.push(body);
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(completion(body)));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const data of streamed(body)) res.write(`data: ${data}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function start(): Promise<{ proxied: OpenAI; direct: OpenAI; calls: () => number }> {
  const up = (upstream = await startUpstream());
  proxy = await startProxy({
    providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, models: ['m'] }],
    routing: { healthCheck: { enabled: false } },
  });
  const direct = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  return { proxied: proxy.client, direct, calls: () => up.bodies.length };
}

const request = (content: string) => ({
  model: 'm',
  temperature: 0,
  logprobs: true,
  messages: [{ role: 'user' as const, content }],
});
const withUsage = { stream_options: { include_usage: true } };

describe('a cache hit in the other shape', () => {
  it.each(['please refuse', 'please answer'])(
    'serves a stored stream as the completion the provider would send (%s)',
    async (prompt) => {
      const { proxied, direct, calls } = await start();
      const req = request(prompt);
      await proxied.chat.completions.stream({ ...req, ...withUsage }).finalChatCompletion();
      const { data, response } = await proxied.chat.completions.create(req).withResponse();
      expect(response.headers.get('x-llm-proxy-cache')).toBe('hit');
      expect(calls()).toBe(1);
      expect(data).toEqual(await direct.chat.completions.create(req));
      expect(data.choices[0]?.logprobs).not.toBeNull();
    },
  );

  it.each(['please refuse', 'please answer'])(
    'serves a stored completion as a stream the SDK assembles into the same answer (%s)',
    async (prompt) => {
      const { proxied, direct, calls } = await start();
      const req = { ...request(prompt), ...withUsage };
      await proxied.chat.completions.create(request(prompt));
      const replayed = await proxied.chat.completions.stream(req).finalChatCompletion();
      expect(calls()).toBe(1);
      expect(await proxy!.metric('llm_proxy_cache_requests_total', { result: 'hit' })).toBe(1);
      const fresh = await direct.chat.completions.stream(req).finalChatCompletion();
      expect(replayed.choices).toEqual(fresh.choices);
      expect(replayed).toMatchObject({ ...CARRIED, usage: USAGE });
      const message = replayed.choices[0]!.message;
      if (prompt.includes('refuse')) {
        expect(message).toMatchObject({ content: null, refusal: "I can't help with that." });
      } else {
        expect(message).toMatchObject({ refusal: null, annotations: [CITATION] });
      }
    },
  );
});

describe('the key', () => {
  it.each([
    ['reasoning_effort', 'low', 'high'],
    ['verbosity', 'low', 'high'],
    ["a provider's own top_k", 1, 40],
  ])('never lets requests differing only in %s share an entry', async (name, a, b) => {
    const { proxied, calls } = await start();
    const field = name.split(' ').at(-1)!;
    const ask = async (value: unknown) => {
      const body = { ...request(`knobs ${field}`), [field]: value };
      const { data, response } = await proxied.chat.completions.create(body).withResponse();
      return {
        text: data.choices[0]?.message.content,
        cache: response.headers.get('x-llm-proxy-cache'),
      };
    };
    const first = await ask(a);
    const second = await ask(b);
    expect([first.cache, second.cache]).toEqual(['miss', 'miss']);
    expect(second.text).toContain(`${field}=${String(b)}`);
    expect(second.text).not.toBe(first.text);
    expect(await ask(a)).toEqual({ ...first, cache: 'hit' });
    expect(calls()).toBe(2);
  });

  it('never answers a store: true request from the cache, so it reaches upstream to be stored', async () => {
    const { proxied, calls } = await start();
    const req = { ...request('store me'), store: true };
    await proxied.chat.completions.create(req);
    const { response } = await proxied.chat.completions.create(req).withResponse();
    expect(response.headers.get('x-llm-proxy-cache')).toBe('bypass');
    expect(calls()).toBe(2);
  });
});
