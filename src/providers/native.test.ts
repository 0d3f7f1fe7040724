import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.js';
import { createProvider } from './index.js';
import type { ChatAnswer, Frame, JsonAnswer, Provider, StreamAnswer } from '../upstream/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function providerFor(entry: Record<string, unknown>): Provider {
  const config = parseConfig({ providers: [{ name: 'p', models: ['m'], ...entry }] }, {});
  const provider = createProvider(config.providers[0]!);
  closers.push(() => provider.close());
  return provider;
}

async function drain(answer: ChatAnswer): Promise<string> {
  if (answer.kind === 'json') return answer.body;
  const parts: Frame[] = [answer.first];
  for (let n = await answer.rest.next(); n.done !== true; n = await answer.rest.next())
    parts.push(n.value);
  answer.close();
  return parts.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'))).join('');
}

const signal = new AbortController().signal;

describe('native pass-through: Anthropic Messages to an anthropic provider', () => {
  async function fake(): Promise<FakeUpstream> {
    const upstream = await startFakeUpstream();
    closers.push(() => upstream.close());
    return upstream;
  }

  it('sends the body byte for byte with the client headers, and reads usage from the answer', async () => {
    const upstream = await fake();
    const provider = providerFor({
      type: 'anthropic',
      baseUrl: `${upstream.url}/v1`,
      apiKey: 'sk-ant-test',
    });
    expect(provider.nativeApis.has('messages')).toBe(true);
    const bodyText = '{"model":"m","max_tokens":64,  "messages":[{"role":"user","content":"hi"}]}';
    const answer = await provider.native!(
      { api: 'messages', bodyText, stream: false, headers: { 'anthropic-beta': 'x-2025' } },
      { signal },
    );
    const last = upstream.lastRequest()!;
    expect(last.path).toBe('/v1/messages');
    expect(last.text).toBe(bodyText);
    expect(last.headers['anthropic-beta']).toBe('x-2025');
    expect(last.headers['x-api-key']).toBe('sk-ant-test');
    expect(answer.kind).toBe('json');
    const body = JSON.parse(await drain(answer)) as {
      type: string;
      usage: { input_tokens: number };
    };
    expect(body.type).toBe('message');
    expect((answer as JsonAnswer).usage?.prompt_tokens).toBe(body.usage.input_tokens);
  });

  it('relays the event stream unchanged and knows its end and usage', async () => {
    const upstream = await fake();
    const provider = providerFor({ type: 'anthropic', baseUrl: `${upstream.url}/v1` });
    const bodyText = JSON.stringify({
      model: 'm',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    const answer = (await provider.native!(
      { api: 'messages', bodyText, stream: true },
      { signal },
    )) as StreamAnswer;
    const text = await drain(answer);
    expect(text).toMatch(/^event: message_start\n/);
    expect(text).toContain('event: message_stop');
    expect(answer.stats.done).toBe(true);
    expect(answer.stats.usage?.completion_tokens).toBeGreaterThan(0);
    expect(answer.stats.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  const MESSAGE_START =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",' +
    '"role":"assistant","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n';
  const OVERLOADED =
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
  const streamed = { api: 'messages', bodyText: '{"stream":true}', stream: true } as const;

  it("ends the stream with a stream error at the upstream's error event", async () => {
    let held: ServerResponse | undefined;
    const upstream = await responsesServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(MESSAGE_START);
      held = res;
    });
    const provider = providerFor({ type: 'anthropic', baseUrl: upstream.url });
    const answer = (await provider.native!(streamed, { signal })) as StreamAnswer;
    expect(String(answer.first)).toContain('message_start');
    // Sent once the first event was taken, so it arrives in a later read.
    held!.end(OVERLOADED);
    await expect(answer.rest.next()).rejects.toMatchObject({
      kind: 'server_error',
      message: 'stream error (overloaded_error)',
    });
    answer.close();
  });

  it('fails the attempt (so the engine fails over) when the first event is an error', async () => {
    const upstream = await responsesServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(OVERLOADED);
    });
    const provider = providerFor({ type: 'anthropic', baseUrl: upstream.url });
    await expect(provider.native!(streamed, { signal })).rejects.toMatchObject({
      kind: 'server_error',
    });
  });

  it('passes count_tokens through to /messages/count_tokens and checks its answer', async () => {
    let answerBody = '{"input_tokens":12}';
    const paths: string[] = [];
    const upstream = await responsesServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answerBody);
    });
    const provider = providerFor({ type: 'anthropic', baseUrl: upstream.url });
    const bodyText = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
    const count = { api: 'count_tokens', bodyText, stream: false } as const;
    const answer = (await provider.native!(count, { signal })) as JsonAnswer;
    expect(answer.body).toBe('{"input_tokens":12}');
    expect(answer.usage).toBeUndefined();
    expect(upstream.bodies).toEqual([bodyText]);
    expect(paths).toEqual(['/v1/messages/count_tokens']);
    answerBody = '{"tokens":12}';
    await expect(provider.native!(count, { signal })).rejects.toMatchObject({
      kind: 'invalid_response',
    });
  });
});

/** A loopback Responses upstream answering what the test gives it. */
async function responsesServer(
  answer: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      answer(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies };
}

const RESPONSE = {
  id: 'resp_1',
  object: 'response',
  created_at: 1,
  status: 'completed',
  model: 'm',
  output: [
    {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'hi', annotations: [] }],
    },
  ],
  usage: {
    input_tokens: 7,
    input_tokens_details: { cached_tokens: 2 },
    output_tokens: 3,
    output_tokens_details: { reasoning_tokens: 1 },
    total_tokens: 10,
  },
};

describe('native pass-through: the Responses API to an openai provider that lists it', () => {
  it('is refused by default: responses is not in the openai defaults', () => {
    const provider = providerFor({ type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' });
    expect([...provider.nativeApis]).toEqual(['chat', 'embeddings', 'completions']);
  });

  it('passes a JSON request through and normalises its usage', async () => {
    const up = await responsesServer((req, res) => {
      expect(req.url).toBe('/v1/responses');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(RESPONSE));
    });
    const provider = providerFor({ type: 'openai', baseUrl: up.url, nativeApis: ['responses'] });
    const bodyText = '{"model":"m","input":"hi","store":false}';
    const answer = await provider.native!(
      { api: 'responses', bodyText, stream: false },
      { signal },
    );
    expect(up.bodies).toEqual([bodyText]);
    expect((answer as JsonAnswer).usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 3,
      total_tokens: 10,
      prompt_tokens_details: { cached_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 1 },
    });
  });

  it('fails over (invalid_response) on a 200 that is not a response', async () => {
    const up = await responsesServer((_req, res) => res.end('{"choices":[]}'));
    const provider = providerFor({ type: 'openai', baseUrl: up.url, nativeApis: ['responses'] });
    await expect(
      provider.native!({ api: 'responses', bodyText: '{}', stream: false }, { signal }),
    ).rejects.toMatchObject({ kind: 'invalid_response' });
  });

  it('relays typed events and ends at response.completed with its usage', async () => {
    const events = [
      [
        'response.created',
        {
          type: 'response.created',
          sequence_number: 0,
          response: { ...RESPONSE, status: 'in_progress', usage: null },
        },
      ],
      [
        'response.output_text.delta',
        {
          type: 'response.output_text.delta',
          sequence_number: 1,
          item_id: 'msg_1',
          output_index: 0,
          content_index: 0,
          delta: 'hi',
        },
      ],
      [
        'response.completed',
        { type: 'response.completed', sequence_number: 2, response: RESPONSE },
      ],
    ] as const;
    const wire = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join('');
    const up = await responsesServer((_req, res) => {
      res.setHeader('content-type', 'text/event-stream');
      res.end(wire);
    });
    const provider = providerFor({ type: 'openai', baseUrl: up.url, nativeApis: ['responses'] });
    const answer = (await provider.native!(
      { api: 'responses', bodyText: '{"model":"m","input":"hi","stream":true}', stream: true },
      { signal },
    )) as StreamAnswer;
    expect(await drain(answer)).toBe(wire);
    expect(answer.stats.done).toBe(true);
    expect(answer.stats.usage?.total_tokens).toBe(10);
  });
});

describe('config: nativeApis', () => {
  it('refuses an API an anthropic upstream cannot serve natively', () => {
    expect(() =>
      parseConfig(
        { providers: [{ name: 'a', type: 'anthropic', models: ['m'], nativeApis: ['chat'] }] },
        {},
      ),
    ).toThrow(/nativeApis/);
  });

  it('refuses an unknown API and a repeated one', () => {
    const bad = (nativeApis: unknown) => () =>
      parseConfig(
        {
          providers: [
            { name: 'o', type: 'openai', baseUrl: 'http://x/v1', models: ['m'], nativeApis },
          ],
        },
        {},
      );
    expect(bad(['graphql'])).toThrow(/nativeApis/);
    expect(bad(['chat', 'chat'])).toThrow(/twice/);
  });
});
