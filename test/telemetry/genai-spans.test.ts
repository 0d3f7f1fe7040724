/**
 * GenAI span attributes of the Messages and Responses APIs (OTel GenAI semantic conventions):
 * each request's server span says the operation (`chat`, the conventions' value for both),
 * the model asked for and the one that answered, and the tokens used, whether the request
 * was passed through to an upstream speaking its API or translated to chat, JSON or stream.
 * The official SDKs send the requests; spans reach a loopback OTLP/HTTP JSON receiver.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { armTimer } from '../../src/tasks/timers.js';
import { startTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../support/otlp-receiver.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let spans: OtlpSpan[] = [];
let receiver: OtlpReceiver;
let upstream: FakeUpstream;
let tracing: Tracing;
let proxy: RunningProxy;

/** Served by an anthropic provider (Messages passed through). */
const CLAUDE = 'claude-traced';
/** Served by an openai provider with default nativeApis (Messages and Responses translated). */
const TRANSLATED = 'gpt-translated';
/** Served by an openai provider with `responses` in nativeApis (Responses passed through). */
const NATIVE_RESPONSES = 'gpt-responses';

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spans = receiver.spans;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  tracing = (await startTracing(process.env, 'test', { armTimer }))!;
  upstream = await startFakeUpstream({ name: 'traced' });
  const baseUrl = `${upstream.url}/v1`;
  proxy = await startProxy(
    {
      providers: [
        { name: 'claude', type: 'anthropic', baseUrl, apiKey: 'k', models: [CLAUDE] },
        { name: 'gpt', type: 'openai', baseUrl, models: [TRANSLATED] },
        {
          name: 'resp',
          type: 'openai',
          baseUrl,
          models: [NATIVE_RESPONSES],
          nativeApis: ['chat', 'responses'],
        },
      ],
      routing: { healthCheck: { enabled: false } },
      cache: { enabled: false },
    },
    {},
    { tracer: tracing.tracer },
  );
});

afterAll(async () => {
  // First the tracer and its receiver: the exporter's connection is no socket of the proxy's.
  await tracing.shutdown();
  await receiver.close();
  await proxy.stop();
  await upstream.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
});

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

let traces = 0;
/** A fresh W3C traceparent: the request's server span is then found by its trace id. */
function traced(): { traceId: string; headers: { traceparent: string } } {
  const traceId = (++traces).toString(16).padStart(32, 'a');
  return { traceId, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } };
}

/** The server span of the request sent with `traceId`, once the exporter delivered it. */
async function serverSpan(traceId: string, name: string): Promise<OtlpSpan> {
  return vi.waitFor(
    () => {
      const found = spans.find((s) => s.traceId === traceId && s.name === name);
      expect(found, `${name} in trace ${traceId}`).toBeDefined();
      return found!;
    },
    { timeout: 5_000, interval: 50 },
  );
}

/** The attributes every GenAI server span of a chat-like API must carry. */
function expectGenAi(
  span: OtlpSpan,
  expected: { model: string; provider: string; system: string; route: string },
): void {
  expect(span.kind).toBe(2); // SERVER
  expect(attr(span, 'http.route')).toBe(expected.route);
  expect(attr(span, 'http.response.status_code')).toBe(200);
  expect(attr(span, 'gen_ai.operation.name')).toBe('chat');
  expect(attr(span, 'gen_ai.request.model')).toBe(expected.model);
  expect(attr(span, 'gen_ai.response.model')).toBe(expected.model);
  expect(attr(span, 'gen_ai.system')).toBe(expected.system);
  expect(attr(span, 'llm_proxy.provider')).toBe(expected.provider);
  expect(Number(attr(span, 'gen_ai.usage.input_tokens'))).toBeGreaterThan(0);
  expect(Number(attr(span, 'gen_ai.usage.output_tokens'))).toBeGreaterThan(0);
}

describe('POST /v1/messages server spans', () => {
  // Its own tracing off: the SDK would send its client span's traceparent in place of ours.
  const client = () =>
    new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0, openTelemetry: false });
  const ask = (model: string) => ({
    model,
    max_tokens: 32,
    temperature: 0.25,
    messages: [{ role: 'user' as const, content: 'trace me' }],
  });

  it.each([
    ['passed through to an anthropic provider', CLAUDE, 'claude', 'anthropic'],
    ['translated to chat', TRANSLATED, 'gpt', 'openai'],
  ])('carry the GenAI attributes when %s', async (_how, model, provider, system) => {
    const { traceId, headers } = traced();
    const message = await client().messages.create(ask(model), { headers });
    expect(message.type).toBe('message');
    const span = await serverSpan(traceId, 'POST /v1/messages');
    expectGenAi(span, { model, provider, system, route: '/v1/messages' });
    expect(attr(span, 'gen_ai.request.max_tokens')).toBe(32);
    expect(attr(span, 'gen_ai.request.temperature')).toBe(0.25);
  });

  it('carry usage from a stream too (message_start and message_delta)', async () => {
    const { traceId, headers } = traced();
    const final = await client().messages.stream(ask(TRANSLATED), { headers }).finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    const span = await serverSpan(traceId, 'POST /v1/messages');
    expectGenAi(span, {
      model: TRANSLATED,
      provider: 'gpt',
      system: 'openai',
      route: '/v1/messages',
    });
  });
});

describe('POST /v1/responses server spans', () => {
  const client = () => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  it.each([
    ['passed through to a provider serving it natively', NATIVE_RESPONSES, 'resp'],
    ['translated to chat', TRANSLATED, 'gpt'],
  ])('carry the GenAI attributes when %s', async (_how, model, provider) => {
    const { traceId, headers } = traced();
    const response = await client().responses.create(
      { model, input: 'trace me', max_output_tokens: 64, temperature: 0.5 },
      { headers },
    );
    expect(response.status).toBe('completed');
    const span = await serverSpan(traceId, 'POST /v1/responses');
    expectGenAi(span, { model, provider, system: 'openai', route: '/v1/responses' });
    // max_output_tokens is the Responses API's name for the request's token limit.
    expect(attr(span, 'gen_ai.request.max_tokens')).toBe(64);
    expect(attr(span, 'gen_ai.request.temperature')).toBe(0.5);
  });

  it.each([
    ['passed through', NATIVE_RESPONSES, 'resp'],
    ['translated', TRANSLATED, 'gpt'],
  ])('carry usage from a stream %s (response.completed)', async (_how, model, provider) => {
    const { traceId, headers } = traced();
    const stream = await client().responses.create(
      { model, input: 'trace me', stream: true },
      { headers },
    );
    let completed = false;
    for await (const event of stream) if (event.type === 'response.completed') completed = true;
    expect(completed).toBe(true);
    const span = await serverSpan(traceId, 'POST /v1/responses');
    expectGenAi(span, { model, provider, system: 'openai', route: '/v1/responses' });
  });
});
