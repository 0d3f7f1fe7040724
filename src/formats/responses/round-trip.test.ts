/**
 * The translation end to end over real sockets, without the proxy: a Responses request is
 * translated to chat, sent to the fake upstream's chat route by the official SDK, and its
 * answer (JSON, or the chunks the SDK parsed) translated back; the streamed events are then
 * served to the SDK's own Responses stream reader, which checks every event against the
 * items it has seen.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstream/index.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../upstream/openai-types.js';
import { fromChatCompletion } from './from-chat.js';
import { parseResponsesRequest } from './parse.js';
import { randomIds } from './response.js';
import { ResponsesStreamTranslator } from './stream.js';
import { toChatRequest } from './to-chat.js';

let up: FakeUpstream;
let chat: OpenAI;

beforeAll(async () => {
  up = await startFakeUpstream({ name: 'rt', streamChunks: 3 });
  chat = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => up.close());

const TOOLS = [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }];

/** Serves `frames` as one SSE answer and reads them with the SDK's Responses stream. */
async function readWithSdk(frames: string[]): Promise<OpenAI.Responses.Response> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(frames.join(''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k' });
    return await client.responses.stream({ model: 'm', input: 'x' }).finalResponse();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('Responses -> chat -> Responses through the fake upstream', () => {
  it('answers a JSON request with the upstream text as a message', async () => {
    const req = parseResponsesRequest({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'hi there',
    });
    const body = toChatRequest(req);
    const answer = (await chat.chat.completions.create({
      ...body,
      stream: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming)) as unknown as ChatCompletion;
    expect(up.lastRequest()?.body).toEqual({ ...body, stream: false });
    const response = fromChatCompletion(answer, req, { ids: randomIds, now: 1 });
    expect(response.output).toEqual([
      expect.objectContaining({
        type: 'message',
        content: [{ type: 'output_text', text: 'echo: hi there', annotations: [], logprobs: [] }],
      }),
    ]);
    expect(response.usage?.input_tokens).toBe(4);
  });

  it('streams a tool call the SDK reads back as the same function_call', async () => {
    const req = parseResponsesRequest({
      model: 'gpt-4o-mini',
      input: 'please use a tool',
      tools: TOOLS,
      stream: true,
    });
    const body = toChatRequest(req);
    const chunks = await chat.chat.completions.create({
      ...body,
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const translator = new ResponsesStreamTranslator(req, { ids: randomIds, clock: () => 1 });
    const frames: string[] = [];
    for await (const chunk of chunks) {
      frames.push(...translator.push(chunk as unknown as ChatCompletionChunk));
    }
    frames.push(...translator.end());
    const response = await readWithSdk(frames);
    expect(response.status).toBe('completed');
    expect(response.output).toEqual([
      expect.objectContaining({ type: 'function_call', name: 'lookup', arguments: '{"q":"x"}' }),
    ]);
    expect(response.usage?.total_tokens).toBeGreaterThan(0);
    expect(translator.response).toMatchObject({ status: 'completed' });
  });

  it('sends the function output back as the tool turn after the call', async () => {
    const req = parseResponsesRequest({
      model: 'gpt-4o-mini',
      tools: TOOLS,
      input: [
        { role: 'user', content: 'look it up' },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'found' },
      ],
    });
    const answer = (await chat.chat.completions.create({
      ...toChatRequest(req),
      stream: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming)) as unknown as ChatCompletion;
    const sent = up.lastRequest()?.body as { messages: unknown[] };
    expect(sent.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'found' },
    ]);
    const response = fromChatCompletion(answer, req, { ids: randomIds, now: 1 });
    expect(response.status).toBe('completed');
  });
});
