import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  up = await startFakeUpstream({ name: 'oa', streamChunks: 4 });
  client = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => up.close());
beforeEach(() => up.set({ streamChunks: 4 }));

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
};

/** The `data:` payloads of an SSE body, in order. */
function dataLines(body: string): string[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

describe('POST /v1/chat/completions (JSON)', () => {
  it('echoes the last user message with word-count usage, parsed by the official SDK', async () => {
    const answer = await client.chat.completions.create({
      model: 'any-model-at-all',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'how are you' },
      ],
    });
    expect(answer.object).toBe('chat.completion');
    expect(answer.id).toBe(`chatcmpl-oa-${up.requests}`);
    expect(answer.model).toBe('any-model-at-all');
    expect(answer.choices[0]?.message).toMatchObject({
      role: 'assistant',
      content: 'echo: how are you',
    });
    expect(answer.choices[0]?.finish_reason).toBe('stop');
    // prompt: 2 + 2 + 2 + 3 words; completion: "echo: how are you" is 4.
    expect(answer.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  });

  it('reads text content parts and answers an empty message with "(empty)"', async () => {
    const parts = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'from parts' }] }],
    });
    expect(parts.choices[0]?.message.content).toBe('echo: from parts');
    const empty = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: '' }],
    });
    expect(empty.choices[0]?.message.content).toBe('echo: (empty)');
  });

  it('answers a max_tokens: 1 probe like any other request', async () => {
    const probe = await client.chat.completions.create({
      model: 'm',
      max_tokens: 1,
      messages: [{ role: 'user', content: 'ping' }],
    });
    expect(probe.choices[0]?.message.content).toBe('echo: ping');
  });

  it('calls the first tool when tools are offered and the user says "tool"', async () => {
    const answer = await client.chat.completions.create({
      model: 'm',
      tools: [WEATHER_TOOL, { ...WEATHER_TOOL, function: { name: 'second' } }],
      messages: [{ role: 'user', content: 'please use a tool' }],
    });
    const choice = answer.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ]);
  });

  it('answers in text when tools are offered but the user does not ask for one', async () => {
    const answer = await client.chat.completions.create({
      model: 'm',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'toolbox is not the word' }],
    });
    expect(answer.choices[0]?.message.content).toBe('echo: toolbox is not the word');
  });

  it('rejects a body without messages with a 400 in OpenAI error shape', async () => {
    const res = await fetch(`${up.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('rejects a body that is not JSON with a 400', async () => {
    const res = await fetch(`${up.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect(await res.json()).toHaveProperty('error.message');
  });
});

describe('POST /v1/chat/completions (SSE)', () => {
  it('streams a role chunk, streamChunks content deltas, a stop chunk, then [DONE]', async () => {
    up.set({ streamChunks: 3 });
    const res = await fetch(`${up.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'm',
        stream: true,
        messages: [{ role: 'user', content: 'abc' }],
      }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const lines = dataLines(await res.text());
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l) as OpenAI.ChatCompletionChunk);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'ech' },
      { content: 'o: ' },
      { content: 'abc' },
      {},
    ]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([
      null,
      null,
      null,
      null,
      'stop',
    ]);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
  });

  it('streams through the SDK and ends with a usage chunk when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream me please' }],
    });
    let text = '';
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('echo: stream me please');
    expect(chunks).toHaveLength(1 + 4 + 1 + 1);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('streams a tool call as tool_calls deltas whose arguments arrive in two pieces', async () => {
    const runner = client.chat.completions.stream({
      model: 'm',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'call the tool now' }],
    });
    const pieces: string[] = [];
    runner.on('chunk', (chunk) => {
      const args = chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments;
      if (args) pieces.push(args);
    });
    const final = await runner.finalChatCompletion();
    expect(pieces).toEqual(['{"q":', '"x"}']);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'lookup', arguments: '{"q":"x"}' },
    });
  });
});

describe('POST /v1/embeddings', () => {
  it('returns one deterministic 8-float vector per input, decoded by the SDK from base64', async () => {
    const first = await client.embeddings.create({ model: 'e', input: ['alpha', 'beta gamma'] });
    const again = await client.embeddings.create({ model: 'e', input: 'alpha' });
    expect(first.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    expect(first.data[0]?.embedding).toHaveLength(8);
    expect(Array.from(again.data[0]?.embedding ?? [])).toEqual(
      Array.from(first.data[0]?.embedding ?? []),
    );
    expect(first.data[1]?.embedding).not.toEqual(first.data[0]?.embedding);
    expect(first.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('returns plain float arrays when encoding_format is float', async () => {
    const answer = await client.embeddings.create({
      model: 'e',
      input: 'alpha',
      encoding_format: 'float',
    });
    const vector = answer.data[0]?.embedding ?? [];
    expect(vector.every((v) => typeof v === 'number')).toBe(true);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
  });
});

describe('GET /v1/models', () => {
  it('lists the served model ids in OpenAI list format', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual([
      'gpt-4o-mini',
      'text-embedding-3-small',
      'claude-3-5-haiku-latest',
    ]);
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'oa' });
  });

  it('lists the models given in options', async () => {
    const custom = await startFakeUpstream({ models: ['only-one'] });
    try {
      const res = await fetch(`${custom.url}/v1/models`);
      expect(await res.json()).toEqual({
        object: 'list',
        data: [{ id: 'only-one', object: 'model', created: 0, owned_by: 'fake' }],
      });
    } finally {
      await custom.close();
    }
  });
});

describe('unknown routes', () => {
  it('answer 404 in OpenAI error shape', async () => {
    const res = await fetch(`${up.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});
