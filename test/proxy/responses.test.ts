/**
 * POST /v1/responses through the official OpenAI SDK, against two fake upstreams: passed
 * through byte for byte to a provider whose upstream serves the Responses API (`responses`
 * in its nativeApis), and translated to chat completions and back for one that does not;
 * JSON and streams, a function-tool round trip and structured output, either way the same
 * Response. Built-in tools go to native providers only, or are a 400 naming the tool.
 */
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  NATIVE,
  TRANSLATED,
  postResponses,
  startResponsesRig,
  type ResponsesRig,
} from './responses-support.js';

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig({ streamChunks: 3 });
});
afterAll(async () => {
  await rig.close();
});

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  strict: false,
};

describe.each([
  { way: 'passed through to a native provider', model: NATIVE, path: '/v1/responses' },
  { way: 'translated for a chat provider', model: TRANSLATED, path: '/v1/chat/completions' },
])('POST /v1/responses $way', ({ model, path }) => {
  const upstream = () => (model === NATIVE ? rig.nat : rig.oai);

  it('answers responses.create with a Response', async () => {
    const response = await rig.client.responses.create({
      model,
      instructions: 'Be brief.',
      input: 'hello there',
    });
    expect(upstream().lastRequest()?.path).toBe(path);
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('echo: hello there');
    expect(response.output).toEqual([
      expect.objectContaining({ type: 'message', role: 'assistant', status: 'completed' }),
    ]);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe(
      (response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0),
    );
  });

  it('streams typed events the SDK assembles into the same Response', async () => {
    const stream = rig.client.responses.stream({ model, input: 'stream me some words' });
    let text = '';
    const types: string[] = [];
    stream.on('response.output_text.delta', (event) => (text += event.delta));
    stream.on('event', (event) => types.push(event.type));
    const final = await stream.finalResponse();
    expect(text).toBe('echo: stream me some words');
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.done');
  });

  it('carries a function-tool round trip', async () => {
    const ask: OpenAI.Responses.ResponseInputItem = {
      role: 'user',
      content: 'use the tool for Paris',
    };
    const first = await rig.client.responses.create({ model, tools: [WEATHER], input: [ask] });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
    const { call_id: callId, arguments: args } = call as OpenAI.Responses.ResponseFunctionToolCall;
    expect(JSON.parse(args)).toEqual({ q: 'x' });
    const second = await rig.client.responses.create({
      model,
      tools: [WEATHER],
      input: [
        ask,
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: callId, output: 'sunny' },
      ],
    });
    expect(second.status).toBe('completed');
    expect(second.output.map((item) => item.type)).toEqual(['message']);
    expect(second.output_text).toMatch(/^echo: /);
  });

  it('streams a function call whole (arguments in pieces)', async () => {
    const final = await rig.client.responses
      .stream({ model, tools: [WEATHER], tool_choice: 'required', input: 'weather in Paris' })
      .finalResponse();
    expect(final.output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        name: 'get_weather',
        arguments: '{"q":"x"}',
      }),
    ]);
  });

  it('answers json_schema structured output the SDK parses (zodTextFormat)', async () => {
    const Answer = z.object({ city: z.string(), degrees: z.number() });
    const response = await rig.client.responses.parse({
      model,
      input: 'the weather in Paris as JSON',
      text: { format: zodTextFormat(Answer, 'weather') },
    });
    expect(Answer.parse(response.output_parsed)).toEqual(response.output_parsed);
  });
});

describe('POST /v1/responses: which provider takes what', () => {
  it('passes the body through byte for byte to a native provider', async () => {
    // Spacing and a number past 2^53 that re-serialising would change.
    const body = `{ "model" : "${NATIVE}", "input": "hi",  "metadata": {"n": "1"}, "top_p": 1.0000000000000000001 }`;
    const res = await postResponses(rig, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-llm-proxy-provider')).toBe('native');
    expect(rig.nat.lastRequest()?.text).toBe(body);
  });

  it('translates for a chat provider: instructions first, the token limit and format as chat has them', async () => {
    await rig.client.responses.create({
      model: TRANSLATED,
      instructions: 'Be brief.',
      input: 'hi, in json',
      max_output_tokens: 64,
      text: { format: { type: 'json_object' } },
    });
    expect(rig.oai.lastRequest()?.body).toEqual({
      model: TRANSLATED,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi, in json' },
      ],
      response_format: { type: 'json_object' },
      max_completion_tokens: 64,
    });
  });

  it('sends a request with a built-in tool to a native provider', async () => {
    const response = await rig.client.responses.create({
      model: NATIVE,
      input: 'search the web',
      tools: [{ type: 'web_search' }],
    });
    expect(response.status).toBe('completed');
    expect(rig.nat.lastRequest()?.path).toBe('/v1/responses');
  });

  it('refuses a built-in tool with a 400 naming tools[i].type when no provider is native', async () => {
    const before = rig.oai.requests;
    const err = await rig.client.responses
      .create({
        model: TRANSLATED,
        input: 'search the web',
        tools: [WEATHER, { type: 'web_search' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.param).toBe('tools[1].type');
    expect(bad.code).toBe('unsupported_api');
    expect(bad.message).toMatch(/built-in tool.*nativeApis/);
    expect(rig.oai.requests).toBe(before);
  });

  it('answers a bad body with a 400 naming the param as OpenAI does', async () => {
    const res = await postResponses(rig, JSON.stringify({ model: TRANSLATED }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringMatching(/Missing required parameter: 'input'/) as unknown,
        type: 'invalid_request_error',
        param: 'input',
        code: 'missing_required_parameter',
      },
    });
  });

  it('labels the route in the HTTP metrics', async () => {
    const labels = { route: '/v1/responses', status: '200' };
    const before = await rig.proxy.metric('llm_proxy_http_requests_total', labels);
    await rig.client.responses.create({ model: TRANSLATED, input: 'count me' });
    expect(await rig.proxy.metric('llm_proxy_http_requests_total', labels)).toBe(before + 1);
  });
});
