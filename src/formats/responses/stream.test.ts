import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type {
  ChatCompletionChunk,
  ChatCompletionDelta,
  FinishReason,
} from '../../upstream/openai-types.js';
import { parseResponsesRequest } from './parse.js';
import type { NewId } from './response.js';
import { ResponsesStreamError, ResponsesStreamTranslator } from './stream.js';

function counter(): NewId {
  let n = 0;
  return (kind) => `${kind}_${++n}`;
}

const REQUEST = parseResponsesRequest({ model: 'gpt-4o-mini', input: 'hi', stream: true });

function translator(): ResponsesStreamTranslator {
  return new ResponsesStreamTranslator(REQUEST, { ids: counter(), clock: () => 1_700_000_100 });
}

function chunk(
  delta: ChatCompletionDelta,
  finish: FinishReason | null = null,
): ChatCompletionChunk {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

const USAGE: ChatCompletionChunk = {
  ...chunk({}),
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
};

const call = (index: number, args: string, id?: string, name?: string) => ({
  index,
  ...(id === undefined ? {} : { id, type: 'function' as const }),
  function: { ...(name === undefined ? {} : { name }), arguments: args },
});

interface Event {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/** Every frame of a run, checked for SSE form and parsed. */
function events(frames: string[]): Event[] {
  return frames.map((frame) => {
    const match = /^event: ([a-z_.]+)\ndata: (.*)\n\n$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const event = JSON.parse(match![2]!) as Event;
    expect(event.type).toBe(match![1]);
    return event;
  });
}

function run(chunks: ChatCompletionChunk[], t = translator()): Event[] {
  return events([...chunks.flatMap((c) => t.push(c)), ...t.end()]);
}

const TEXT_RUN = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Hel' }),
  chunk({ content: 'lo' }),
  chunk({}, 'stop'),
  USAGE,
];

describe('ResponsesStreamTranslator', () => {
  it("streams text in the reference's event order, numbered from 0", () => {
    const all = run(TEXT_RUN);
    expect(all.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all[0]).toMatchObject({
      response: { id: 'resp_1', status: 'in_progress', output: [], usage: null },
    });
    expect(all[2]).toMatchObject({
      output_index: 0,
      item: { id: 'msg_2', type: 'message', status: 'in_progress', content: [] },
    });
    expect(all[4]).toEqual({
      type: 'response.output_text.delta',
      item_id: 'msg_2',
      output_index: 0,
      content_index: 0,
      delta: 'Hel',
      logprobs: [],
      sequence_number: 4,
    });
    expect(all[6]).toMatchObject({ text: 'Hello', logprobs: [] });
    expect(all[7]).toMatchObject({
      part: { type: 'output_text', text: 'Hello', annotations: [], logprobs: [] },
    });
    expect(all[9]).toMatchObject({
      response: {
        status: 'completed',
        created_at: 1_700_000_000,
        completed_at: 1_700_000_100,
        model: 'gpt-4o-mini-2024-07-18',
        output: [{ id: 'msg_2', status: 'completed', content: [{ text: 'Hello' }] }],
        usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
      },
    });
  });

  it('closes the message before the first call, and each call before the next', () => {
    const all = run([
      chunk({ content: 'Checking.' }),
      chunk({ tool_calls: [call(0, '', 'call_a', 'weather')] }),
      chunk({ tool_calls: [call(0, '{"city":')] }),
      chunk({ tool_calls: [call(0, '"Paris"}')] }),
      chunk({ tool_calls: [call(1, '{}', 'call_b', 'time')] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(all.map((e) => e.type).slice(2)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const argsDone = all.find((e) => e.type === 'response.function_call_arguments.done');
    expect(argsDone).toMatchObject({
      item_id: 'fc_3',
      output_index: 1,
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    const completed = all.at(-1)!['response'] as { output: unknown[]; usage: unknown };
    expect(completed.output).toEqual([
      expect.objectContaining({ type: 'message', status: 'completed' }),
      {
        id: 'fc_3',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Paris"}',
        call_id: 'call_a',
        name: 'weather',
      },
      expect.objectContaining({ id: 'fc_4', call_id: 'call_b', name: 'time', arguments: '{}' }),
    ]);
    expect(completed.usage).toBeNull();
  });

  it('streams a refusal as a refusal part with its own events', () => {
    const all = run([chunk({ refusal: 'No.' }), chunk({}, 'stop')]);
    expect(all.map((e) => e.type)).toContain('response.refusal.delta');
    expect(all.find((e) => e.type === 'response.refusal.done')).toMatchObject({ refusal: 'No.' });
    expect(all.find((e) => e.type === 'response.content_part.added')).toMatchObject({
      part: { type: 'refusal', refusal: '' },
    });
  });

  it('ends incomplete when the token limit cut the answer', () => {
    const all = run([chunk({ content: 'Once upon' }), chunk({}, 'length')]);
    expect(all.find((e) => e.type === 'response.output_item.done')).toMatchObject({
      item: { status: 'incomplete' },
    });
    expect(all.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: {
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        completed_at: null,
      },
    });
  });

  it('fails with the error when the upstream breaks mid-stream, items left incomplete', () => {
    const t = translator();
    const frames = [...t.push(chunk({ content: 'Hel' })), ...t.fail('upstream reset')];
    const last = events(frames).at(-1);
    expect(last).toMatchObject({
      type: 'response.failed',
      response: {
        status: 'failed',
        error: { code: 'server_error', message: 'upstream reset' },
        output: [{ status: 'incomplete', content: [{ text: 'Hel' }] }],
      },
    });
    expect(t.done).toBe(true);
    expect(t.end()).toEqual([]);
    expect(t.push(chunk({ content: 'late' }))).toEqual([]);
  });

  it('fails when the upstream stream ends with no finish reason', () => {
    const all = run([chunk({ content: 'Hel' })]);
    const last = all.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect((last['response'] as { error: { message: string } }).error.message).toContain(
      'ended before the answer was finished',
    );
  });

  it('announces the response even when the upstream failed before its first chunk', () => {
    const t = translator();
    expect(events(t.fail('no answer')).map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.failed',
    ]);
    expect(t.response).toMatchObject({ model: 'gpt-4o-mini', status: 'failed' });
  });

  it('refuses a fragment for a tool call already closed', () => {
    const t = translator();
    t.push(chunk({ tool_calls: [call(0, '{', 'a', 'f')] }));
    t.push(chunk({ tool_calls: [call(1, '{', 'b', 'g')] }));
    expect(() => t.push(chunk({ tool_calls: [call(0, '}')] }))).toThrow(ResponsesStreamError);
  });
});

describe('the official SDK reading the translated stream', () => {
  async function readWithSdk(frames: string[]): Promise<OpenAI.Responses.Response> {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const frame of frames) res.write(frame);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = new OpenAI({
        baseURL: `http://127.0.0.1:${port}/v1`,
        apiKey: 'k',
        maxRetries: 0,
      });
      const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'hi' });
      return await stream.finalResponse();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('accumulates the same text and calls as the completed event carries', async () => {
    const t = translator();
    const frames = [
      ...TEXT_RUN.slice(0, 3).flatMap((c) => t.push(c)),
      ...t.push(chunk({ tool_calls: [call(0, '{"q":', 'call_a', 'search')] })),
      ...t.push(chunk({ tool_calls: [call(0, '"x"}')] })),
      ...t.push(chunk({}, 'tool_calls')),
      ...t.push(USAGE),
      ...t.end(),
    ];
    const response = await readWithSdk(frames);
    expect(response.output_text).toBe('Hello');
    expect(response.output[1]).toMatchObject({
      type: 'function_call',
      call_id: 'call_a',
      name: 'search',
      arguments: '{"q":"x"}',
    });
    expect(response.usage?.total_tokens).toBe(12);
  });
});
