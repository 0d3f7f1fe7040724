import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeUpstream, type FakeUpstream } from './index.js';

let up: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  up = await startFakeUpstream({ name: 'oa', streamChunks: 3 });
  client = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => up.close());
beforeEach(() => up.set({ streamChunks: 3 }));

const LOOKUP = {
  type: 'function' as const,
  name: 'lookup',
  parameters: { type: 'object', properties: { q: { type: 'string' } } },
  strict: false,
};

/** The status and error body of a raw POST /v1/responses. */
async function post(body: unknown): Promise<{ status: number; error: unknown }> {
  const res = await fetch(`${up.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify(body),
  });
  return { status: res.status, error: ((await res.json()) as { error: unknown }).error };
}

describe('POST /v1/responses (JSON)', () => {
  it('echoes the user text as a completed message the official SDK reads', async () => {
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'be brief',
      input: 'how are you',
    });
    expect(response.id).toBe(`resp_oa_${up.requests}`);
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'gpt-4o-mini',
      instructions: 'be brief',
      store: true,
      truncation: 'disabled',
      error: null,
      incomplete_details: null,
    });
    expect(response.output_text).toBe('echo: how are you');
    expect(response.output[0]).toMatchObject({
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'echo: how are you', annotations: [] }],
    });
    // input: "be brief" + "how are you" is 5 words; output: "echo: how are you" is 4.
    expect(response.usage).toMatchObject({ input_tokens: 5, output_tokens: 4, total_tokens: 9 });
  });

  it('calls a function when asked, then answers the function output in text', async () => {
    const first = await client.responses.create({
      model: 'm',
      tools: [LOOKUP],
      input: [{ role: 'user', content: 'please use a tool' }],
    });
    const call = first.output[0];
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'lookup',
      arguments: '{"q":"x"}',
      status: 'completed',
    });
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    const second = await client.responses.create({
      model: 'm',
      tools: [LOOKUP],
      input: [
        { role: 'user', content: 'please use a tool' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'found it' },
      ],
    });
    expect(second.output[0]?.type).toBe('message');
    expect(second.output_text).toBe('echo: please use a tool');
  });

  it('honours tool_choice: a named function is called, none never calls', async () => {
    const forced = await client.responses.create({
      model: 'm',
      tools: [LOOKUP],
      tool_choice: { type: 'function', name: 'lookup' },
      input: 'hello',
    });
    expect(forced.output[0]?.type).toBe('function_call');
    const none = await client.responses.create({
      model: 'm',
      tools: [LOOKUP],
      tool_choice: 'none',
      input: 'use a tool',
    });
    expect(none.output[0]?.type).toBe('message');
  });

  it('answers json_schema with a value the SDK parses against the schema (zodTextFormat)', async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number(), sunny: z.boolean() });
    const response = await client.responses.parse({
      model: 'm',
      input: 'weather in Paris?',
      text: { format: zodTextFormat(Weather, 'weather') },
    });
    expect(response.output_parsed).toEqual({ city: 'fake', celsius: 0, sunny: false });
  });

  it('refuses a strict schema that strict mode does not allow, naming text.format.schema', async () => {
    const { status, error } = await post({
      model: 'm',
      input: 'x',
      text: {
        format: {
          type: 'json_schema',
          name: 'loose',
          strict: true,
          schema: { type: 'object', properties: { a: { type: 'string' } } },
        },
      },
    });
    expect(status).toBe(400);
    expect(error).toMatchObject({ param: 'text.format.schema' });
  });

  it('answers JSON text when text.format asks for JSON', async () => {
    const response = await client.responses.create({
      model: 'm',
      input: 'hi',
      text: { format: { type: 'json_object' } },
    });
    expect(JSON.parse(response.output_text)).toEqual({ answer: 'echo: hi' });
  });
});

describe('POST /v1/responses (stream)', () => {
  it("streams the reference's events, numbered, which the SDK accumulates", async () => {
    const stream = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'tell me a joke',
      stream: true,
    });
    const events: { type: string; sequence_number: number }[] = [];
    let text = '';
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(text).toBe('echo: tell me a joke');
    expect(up.events.at(-1)).toMatchObject({
      kind: 'complete',
      path: '/v1/responses',
      stream: true,
    });
  });

  it('streams a function call as argument deltas, read back by responses.stream', async () => {
    const stream = client.responses.stream({
      model: 'm',
      tools: [LOOKUP],
      input: 'use the tool',
    });
    const deltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('{"q":"x"}');
    expect(final.output[0]).toMatchObject({
      type: 'function_call',
      name: 'lookup',
      arguments: '{"q":"x"}',
      call_id: 'call_1',
    });
    expect(final.status).toBe('completed');
  });
});

describe("POST /v1/responses: the real API's 400s", () => {
  it.each([
    ['no model', { input: 'x' }, 'model', 'missing_required_parameter'],
    ['no input', { model: 'm' }, 'input', 'missing_required_parameter'],
    ['a numeric input', { model: 'm', input: 5 }, 'input', 'invalid_type'],
    [
      'an unknown tool type',
      { model: 'm', input: 'x', tools: [LOOKUP, { type: 'browser' }] },
      'tools[1].type',
      'invalid_value',
    ],
    [
      'a function tool without a name',
      { model: 'm', input: 'x', tools: [{ type: 'function' }] },
      'tools[0].name',
      'missing_required_parameter',
    ],
    [
      'an unknown text format',
      { model: 'm', input: 'x', text: { format: { type: 'yaml' } } },
      'text.format.type',
      'invalid_value',
    ],
    [
      'a json_schema format without a name',
      { model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } },
      'text.format.name',
      'missing_required_parameter',
    ],
  ])('refuses %s, naming %s', async (_name, body, param, code) => {
    const { status, error } = await post(body);
    expect(status).toBe(400);
    expect(error).toMatchObject({ type: 'invalid_request_error', param, code });
  });

  it('words an unknown tool type as the API does, and the SDK raises a BadRequestError', async () => {
    const { error } = await post({ model: 'm', input: 'x', tools: [{ type: 'browser' }] });
    expect((error as { message: string }).message).toMatch(
      /^Invalid value: 'browser'\. Supported values are: 'function', 'file_search', .*, and 'apply_patch'\.$/,
    );
    await expect(client.responses.create({ input: 'x' } as never)).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });

  it('continues from a response it issued, and refuses a previous_response_id it did not', async () => {
    const first = await client.responses.create({ model: 'm', input: 'one' });
    const second = await client.responses.create({
      model: 'm',
      input: 'two',
      previous_response_id: first.id,
    });
    expect(second).toMatchObject({ status: 'completed', previous_response_id: first.id });
    const { status, error } = await post({
      model: 'm',
      input: 'two',
      previous_response_id: 'resp_elsewhere_1',
    });
    expect(status).toBe(400);
    expect(error).toEqual({
      message: "Previous response with id 'resp_elsewhere_1' not found.",
      type: 'invalid_request_error',
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  });

  it('takes the dated variants of the hosted tools', async () => {
    const { status } = await post({
      model: 'm',
      input: 'x',
      tools: [{ type: 'web_search_preview_2025_03_11' }],
    });
    expect(status).toBe(200);
  });
});
