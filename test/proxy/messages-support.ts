/**
 * Set-up for the Messages API suites: two fake upstreams, one behind an `anthropic` provider
 * (the Messages API passed through) and one behind an `openai` provider (translated to chat),
 * the proxy in front with a client key, and the official Anthropic SDK pointed at it with a
 * fetch that records what the SDK sent (so a test can compare it with what the upstream got).
 */
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

/** Served by the anthropic provider only: passed through. */
export const NATIVE = 'claude-native';
/** Served by the openai provider only: translated. */
export const TRANSLATED = 'gpt-translated';
export const PROXY_KEY = 'sk-proxy-client';
const UPSTREAM_KEY = 'sk-upstream-secret';

export interface MessagesRig {
  ant: FakeUpstream;
  oai: FakeUpstream;
  proxy: RunningProxy;
  client: Anthropic;
  /** The request bodies the SDK sent, in order. */
  sent: string[];
  /** The headers the SDK sent, in order. */
  sentHeaders: Record<string, string>[];
  close(): Promise<void>;
}

export function messagesConfig(ant: FakeUpstream, oai: FakeUpstream): Record<string, unknown> {
  return {
    auth: { apiKeys: [PROXY_KEY] },
    providers: [
      {
        name: 'claude',
        type: 'anthropic',
        baseUrl: `${ant.url}/v1`,
        apiKey: UPSTREAM_KEY,
        models: [NATIVE],
        timeoutMs: 10_000,
      },
      {
        name: 'gpt',
        type: 'openai',
        baseUrl: `${oai.url}/v1`,
        apiKey: UPSTREAM_KEY,
        models: [TRANSLATED],
        timeoutMs: 10_000,
      },
    ],
    routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 } },
    cache: { enabled: false },
  };
}

export function sdk(
  url: string,
  sent: string[] = [],
  sentHeaders: Record<string, string>[] = [],
  apiKey = PROXY_KEY,
): Anthropic {
  return new Anthropic({
    baseURL: url,
    apiKey,
    maxRetries: 0,
    timeout: 20_000,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      if (typeof init?.body === 'string') sent.push(init.body);
      sentHeaders.push(Object.fromEntries(new Headers(init?.headers).entries()));
      return fetch(input, init);
    },
  });
}

export async function startMessagesRig(
  extra: Record<string, unknown> = {},
  upstream: { streamChunks?: number; chunkDelayMs?: number } = {},
): Promise<MessagesRig> {
  const ant = await startFakeUpstream({ name: 'ant', apiKey: UPSTREAM_KEY, ...upstream });
  const oai = await startFakeUpstream({ name: 'oai', apiKey: UPSTREAM_KEY, ...upstream });
  const proxy = await startProxy({ ...messagesConfig(ant, oai), ...extra });
  const sent: string[] = [];
  const sentHeaders: Record<string, string>[] = [];
  return {
    ant,
    oai,
    proxy,
    client: sdk(proxy.url, sent, sentHeaders),
    sent,
    sentHeaders,
    close: async () => {
      await proxy.stop();
      await ant.close();
      await oai.close();
    },
  };
}

/** The recorded Claude Code request (system blocks with cache_control, tools, thinking). */
export function claudeCodeRequest(): Record<string, unknown> {
  const url = new URL(
    '../../src/formats/messages/fixtures/claude-code-request.json',
    import.meta.url,
  );
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

/** The SSE events of a Messages stream, by name and parsed data. */
export function sseEvents(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** A raw POST to the proxy, for what the SDK hides (headers, bytes, the exact error body). */
export function post(
  rig: MessagesRig,
  path: string,
  body: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${rig.proxy.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': PROXY_KEY,
      'anthropic-version': '2023-06-01',
      ...headers,
    },
    body,
    ...(signal === undefined ? {} : { signal }),
  });
}
