/**
 * Set-up for the Responses API suites: two fake upstreams behind `openai` providers, one
 * listing `responses` in its nativeApis (the Responses API passed through) and one not
 * (translated to chat), the proxy in front with a client key, and the official OpenAI SDK
 * pointed at it.
 */
import type OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

/** Served by the provider whose upstream serves /v1/responses: passed through. */
export const NATIVE = 'gpt-native';
/** Served by the provider without `responses` in its nativeApis: translated. */
export const TRANSLATED = 'gpt-translated';
export const PROXY_KEY = 'sk-proxy-client';
const UPSTREAM_KEY = 'sk-upstream-secret';

export interface ResponsesRig {
  /** The upstream of the native provider. */
  nat: FakeUpstream;
  /** The upstream of the translating provider. */
  oai: FakeUpstream;
  proxy: RunningProxy;
  client: OpenAI;
  close(): Promise<void>;
}

export function responsesConfig(nat: FakeUpstream, oai: FakeUpstream): Record<string, unknown> {
  const provider = (name: string, up: FakeUpstream, model: string) => ({
    name,
    type: 'openai',
    baseUrl: `${up.url}/v1`,
    apiKey: UPSTREAM_KEY,
    models: [model],
    timeoutMs: 10_000,
  });
  return {
    auth: { apiKeys: [PROXY_KEY] },
    providers: [
      { ...provider('native', nat, NATIVE), nativeApis: ['chat', 'responses'] },
      provider('translating', oai, TRANSLATED),
    ],
    routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 } },
    cache: { enabled: false },
  };
}

export async function startResponsesRig(
  upstream: { streamChunks?: number; chunkDelayMs?: number } = {},
): Promise<ResponsesRig> {
  const nat = await startFakeUpstream({ name: 'nat', apiKey: UPSTREAM_KEY, ...upstream });
  const oai = await startFakeUpstream({ name: 'oai', apiKey: UPSTREAM_KEY, ...upstream });
  const proxy = await startProxy(responsesConfig(nat, oai));
  return {
    nat,
    oai,
    proxy,
    client: proxy.client,
    close: async () => {
      await proxy.stop();
      await nat.close();
      await oai.close();
    },
  };
}

/** A raw POST to the proxy's /v1/responses, for what the SDK hides (bytes, error bodies). */
export function postResponses(
  rig: ResponsesRig,
  body: string,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${rig.proxy.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PROXY_KEY}` },
    body,
    ...(signal === undefined ? {} : { signal }),
  });
}
