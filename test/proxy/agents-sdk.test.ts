/**
 * The OpenAI Agents SDK (`@openai/agents`, pinned to 0.14.3: 0.15 and later need openai 7,
 * which needs Node 22) runs one agent with one function tool against the proxy on the SDK's
 * default API, Responses: the model asks for the tool, the SDK runs it and sends its output
 * back, the model answers in text. Both ways the proxy serves /v1/responses: passed through
 * to a provider whose upstream serves it, and translated to chat for one that does not.
 *
 * NOTE: the SDK's module-level `run()` keeps one default Runner, and the default provider
 * keeps the first OpenAI client it resolves, so a second proxy (each test has its own) would
 * be ignored. Each test therefore builds a Runner with an OpenAIProvider holding the client
 * of its proxy; leaving `useResponses` unset keeps the SDK's default API. Tracing is off, so
 * the SDK's trace exporter never reaches for the network.
 */
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NATIVE, TRANSLATED, startResponsesRig, type ResponsesRig } from './responses-support.js';

beforeAll(() => {
  setTracingDisabled(true);
});

let rig: ResponsesRig;
beforeEach(async () => {
  rig = await startResponsesRig({ streamChunks: 3 });
});
afterEach(async () => {
  await rig.close();
});

/** The agent's one tool, recording what it was called with. */
function lookupTool(calls: string[]) {
  return tool({
    name: 'lookup_city',
    description: 'Facts about a city',
    // The fake upstream always calls a tool with {"q":"x"}.
    parameters: z.object({ q: z.string() }),
    execute: ({ q }) => {
      calls.push(q);
      return `facts about ${q}`;
    },
  });
}

function runner(): Runner {
  return new Runner({ modelProvider: new OpenAIProvider({ openAIClient: rig.client }) });
}

const PROMPT = 'Use the lookup_city tool for Paris, then answer.';
const ROUTE = { route: '/v1/responses', status: '200' };

describe.each([
  { way: 'passed through to a native provider', model: NATIVE, path: '/v1/responses' },
  { way: 'translated for a chat provider', model: TRANSLATED, path: '/v1/chat/completions' },
])('the Agents SDK, its default API $way', ({ model, path }) => {
  const upstream = () => (model === NATIVE ? rig.nat : rig.oai);

  it('runs an agent that calls its tool once and then answers in text', async () => {
    const calls: string[] = [];
    const agent = new Agent({
      name: 'Guide',
      instructions: 'Answer with the help of your tool.',
      model,
      tools: [lookupTool(calls)],
    });
    const before = await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE);
    const result = await runner().run(agent, PROMPT);
    expect(calls).toEqual(['x']);
    expect(result.newItems.map((item) => item.type)).toEqual([
      'tool_call_item',
      'tool_call_output_item',
      'message_output_item',
    ]);
    expect(result.finalOutput).toBe(`echo: ${PROMPT}`);
    expect(await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE)).toBe(before + 2);
    expect(
      upstream()
        .events.filter((e) => e.kind === 'request')
        .map((e) => e.path),
    ).toEqual([path, path]);
  });

  it('streams the same run: tool call, tool output, text deltas', async () => {
    const calls: string[] = [];
    const agent = new Agent({ name: 'Guide', model, tools: [lookupTool(calls)] });
    const before = await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE);
    const result = await runner().run(agent, PROMPT, { stream: true });
    let text = '';
    for await (const chunk of result.toTextStream()) text += chunk;
    await result.completed;
    expect(calls).toEqual(['x']);
    expect(text).toBe(`echo: ${PROMPT}`);
    expect(result.finalOutput).toBe(text);
    expect(await rig.proxy.metric('llm_proxy_http_requests_total', ROUTE)).toBe(before + 2);
    expect(upstream().events.filter((e) => e.kind === 'request' && e.stream)).toHaveLength(2);
  });
});
