/**
 * Structured output, tool choice and embedding dimensions through the official SDKs, as a
 * developer runs them against the fake locally: `zodResponseFormat` answers parse, an agent
 * loop (call, result, answer) ends, forced choices force, and what the real APIs refuse is
 * refused here with their status.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  up = await startFakeUpstream({ name: 'agents', streamChunks: 3 });
  openai = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: up.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});
afterAll(() => up.close());

const Plan = z.object({
  title: z.string(),
  priority: z.enum(['high', 'low']),
  steps: z.array(z.object({ n: z.number().int(), done: z.boolean() })),
  owner: z.string().nullable(),
  due: z.object({ day: z.number().int().min(1), tags: z.array(z.string()).min(2) }),
});

const WEATHER = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  },
};

/** The status and param of the SDK's error for a refused call (undefined if it succeeded). */
const refusal = (p: Promise<unknown>): Promise<{ status: unknown; param: unknown } | undefined> =>
  p.then(
    () => undefined,
    (err: unknown) => {
      const { status, param } = err as { status?: unknown; param?: unknown };
      return { status, param };
    },
  );

describe('response_format through the OpenAI SDK', () => {
  it('answers json_schema with a value zodResponseFormat parses, JSON and streamed', async () => {
    const request = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'plan my day' }],
      response_format: zodResponseFormat(Plan, 'plan'),
    };
    const parsed = await openai.chat.completions.parse(request);
    const plan = parsed.choices[0]!.message.parsed;
    expect(Plan.parse(plan)).toEqual({
      title: 'fake',
      priority: 'high',
      steps: [],
      owner: 'fake',
      due: { day: 1, tags: ['fake', 'fake'] },
    });

    const stream = openai.chat.completions.stream(request);
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual(plan);
  });

  it('answers json_object with JSON when the messages say json, and refuses it otherwise', async () => {
    const answer = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'reply in JSON' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(answer.choices[0]!.message.content!)).toEqual({
      answer: 'echo: reply in JSON',
    });
    const plain = openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
      response_format: { type: 'json_object' },
    });
    await expect(plain).rejects.toThrow(/must contain the word 'json'/);
  });

  it('refuses a strict schema that strict mode does not allow', async () => {
    const err = openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'loose',
          strict: true,
          schema: { type: 'object', properties: { a: { type: 'string' } }, required: [] },
        },
      },
    });
    await expect(err).rejects.toThrow(/'additionalProperties' is required/);
  });
});

describe('tool_choice through the OpenAI SDK', () => {
  it('runs an agent loop to its end: one tool call, its result, then a text answer', async () => {
    const calls: string[] = [];
    const runner = openai.chat.completions.runTools({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'use get_weather for Paris' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: { type: 'object', properties: { q: { type: 'string' } } },
            function: (args: string) => {
              calls.push(args);
              return 'sunny';
            },
          },
        },
      ],
      maxChatCompletions: 5,
    });
    const answer = await runner.finalContent();
    expect(calls).toEqual(['{"q":"x"}']);
    expect(answer).toBe('echo: use get_weather for Paris');
    expect((await runner.totalUsage()).total_tokens).toBeGreaterThan(0);
  });

  it('calls a tool when required or named even unasked, and never under none', async () => {
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    const auto = await openai.chat.completions.create({ ...ask, tools: [WEATHER] });
    expect(auto.choices[0]!.message.tool_calls).toBeUndefined();
    for (const tool_choice of [
      'required',
      { type: 'function', function: { name: 'get_weather' } },
    ] as const) {
      const forced = await openai.chat.completions.create({
        ...ask,
        tools: [WEATHER],
        tool_choice,
      });
      expect(forced.choices[0]!.finish_reason).toBe('tool_calls');
      expect(forced.choices[0]!.message.tool_calls![0]).toMatchObject({
        function: { name: 'get_weather' },
      });
    }
    const none = await openai.chat.completions.create({
      ...ask,
      messages: [{ role: 'user', content: 'use the tool' }],
      tools: [WEATHER],
      tool_choice: 'none',
    });
    expect(none.choices[0]!.message.content).toBe('echo: use the tool');
  });

  it('refuses a forcing tool_choice without tools, or naming an undeclared tool', async () => {
    const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    const bad = { status: 400, param: 'tool_choice' };
    expect(
      await refusal(openai.chat.completions.create({ ...ask, tool_choice: 'required' })),
    ).toEqual(bad);
    const unknown = { type: 'function' as const, function: { name: 'nope' } };
    expect(
      await refusal(
        openai.chat.completions.create({ ...ask, tools: [WEATHER], tool_choice: unknown }),
      ),
    ).toEqual(bad);
  });
});

describe('tool_choice through the Anthropic SDK', () => {
  const tool = {
    name: 'get_weather',
    input_schema: { type: 'object' as const, properties: { q: { type: 'string' } } },
  };

  it('answers in text after a tool result, so the loop ends', async () => {
    const ask: Anthropic.MessageParam = { role: 'user', content: 'use the tool for Paris' };
    const first = await anthropic.messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      tools: [tool],
      messages: [ask],
    });
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(call?.name).toBe('get_weather');
    const second = await anthropic.messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      tools: [tool],
      messages: [
        ask,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: call!.id, content: 'sunny' }],
        },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toEqual([{ type: 'text', text: 'echo: sunny' }]);
  });

  it('forces a call under any and tool, never under none; refuses any without tools', async () => {
    const base = {
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    for (const tool_choice of [{ type: 'any' }, { type: 'tool', name: 'get_weather' }] as const) {
      const forced = await anthropic.messages.create({ ...base, tools: [tool], tool_choice });
      expect(forced.stop_reason).toBe('tool_use');
    }
    const none = await anthropic.messages.create({
      ...base,
      messages: [{ role: 'user', content: 'use the tool' }],
      tools: [tool],
      tool_choice: { type: 'none' },
    });
    expect(none.stop_reason).toBe('end_turn');
    const refused = anthropic.messages.create({ ...base, tool_choice: { type: 'any' } });
    await expect(refused).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('embedding dimensions through the OpenAI SDK', () => {
  it('answers vectors of the length asked for, base64 (decoded) and float alike', async () => {
    const decoded = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello',
      dimensions: 256,
    });
    expect(decoded.data[0]!.embedding).toHaveLength(256);
    const floats = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello',
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(floats.data[0]!.embedding).toHaveLength(256);
    // Unit length, as the real API's shortened vectors are.
    expect(Math.hypot(...floats.data[0]!.embedding)).toBeCloseTo(1, 4);
    const plain = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello',
    });
    expect(plain.data[0]!.embedding).toHaveLength(8);
  });

  it('refuses dimensions out of range, and on a model without them', async () => {
    const ask = { model: 'text-embedding-3-small', input: 'hello' };
    const bad = { status: 400, param: 'dimensions' };
    expect(await refusal(openai.embeddings.create({ ...ask, dimensions: 5000 }))).toEqual(bad);
    expect(await refusal(openai.embeddings.create({ ...ask, dimensions: 0 }))).toEqual(bad);
    const ada = { model: 'text-embedding-ada-002', input: 'hello', dimensions: 8 };
    await expect(openai.embeddings.create(ada)).rejects.toThrow(
      /does not support specifying dimensions/,
    );
  });
});
