/**
 * The Vercel AI SDK (`ai` 6.0.333 with `@ai-sdk/openai` 3.0.141, the newest whose engines
 * allow Node 20; `ai` 7 and `@ai-sdk/openai` 4 need Node 22) against the proxy through its
 * default OpenAI provider, whose `openai(model)` speaks the Responses API: generateText,
 * streamText, and a tool call the SDK runs before the model answers in text. Both ways the
 * proxy serves /v1/responses: passed through to a provider whose upstream serves it, and
 * translated to chat for one that does not. The SDK's telemetry is opt-in and stays off;
 * a provider object (not a model id string) keeps its gateway out of the way.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  NATIVE,
  PROXY_KEY,
  TRANSLATED,
  startResponsesRig,
  type ResponsesRig,
} from './responses-support.js';

let rig: ResponsesRig;
beforeEach(async () => {
  rig = await startResponsesRig({ streamChunks: 3 });
});
afterEach(async () => {
  await rig.close();
});

const ROUTE = { route: '/v1/responses', status: '200' };

/** The proxy's /v1/responses requests answered 200 while `work` ran. */
async function responsesServed(work: () => Promise<void>): Promise<number> {
  const before = await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE);
  await work();
  return (await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE)) - before;
}

describe.each([
  { way: 'passed through to a native provider', model: NATIVE, path: '/v1/responses' },
  { way: 'translated for a chat provider', model: TRANSLATED, path: '/v1/chat/completions' },
])('the AI SDK, its default OpenAI provider $way', ({ model, path }) => {
  const upstream = () => (model === NATIVE ? rig.nat : rig.oai);
  const languageModel = () =>
    createOpenAI({ baseURL: `${rig.proxy.url}/v1`, apiKey: PROXY_KEY })(model);
  const upstreamPaths = () =>
    upstream()
      .events.filter((e) => e.kind === 'request')
      .map((e) => e.path);

  it('answers generateText', async () => {
    let text = '';
    let outputTokens: number | undefined;
    const served = await responsesServed(async () => {
      const result = await generateText({ model: languageModel(), prompt: 'hello there' });
      text = result.text;
      outputTokens = result.usage.outputTokens;
    });
    expect(text).toBe('echo: hello there');
    expect(outputTokens).toBeGreaterThan(0);
    expect(served).toBe(1);
    expect(upstreamPaths()).toEqual([path]);
  });

  it('streams streamText as text deltas', async () => {
    const deltas: string[] = [];
    let finishReason = '';
    const served = await responsesServed(async () => {
      const result = streamText({ model: languageModel(), prompt: 'stream me some words' });
      for await (const delta of result.textStream) deltas.push(delta);
      finishReason = await result.finishReason;
    });
    expect(deltas.join('')).toBe('echo: stream me some words');
    expect(deltas.length).toBeGreaterThan(1);
    expect(finishReason).toBe('stop');
    expect(served).toBe(1);
    expect(upstream().events.filter((e) => e.kind === 'request' && e.stream)).toHaveLength(1);
  });

  it('runs a tool call and ends with text', async () => {
    const calls: string[] = [];
    const prompt = 'Use the lookup_city tool for Paris, then answer.';
    let text = '';
    let steps: string[] = [];
    const served = await responsesServed(async () => {
      const result = await generateText({
        model: languageModel(),
        prompt,
        tools: {
          lookup_city: tool({
            description: 'Facts about a city',
            // The fake upstream always calls a tool with {"q":"x"}.
            inputSchema: z.object({ q: z.string() }),
            execute: ({ q }) => {
              calls.push(q);
              return Promise.resolve(`facts about ${q}`);
            },
          }),
        },
        stopWhen: stepCountIs(3),
      });
      text = result.text;
      steps = result.steps.map((step) => step.finishReason);
    });
    expect(calls).toEqual(['x']);
    expect(steps).toEqual(['tool-calls', 'stop']);
    expect(text).toBe(`echo: ${prompt}`);
    expect(served).toBe(2);
    expect(upstreamPaths()).toEqual([path, path]);
  });
});
