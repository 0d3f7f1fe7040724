/**
 * Distinctive secrets everywhere (provider keys, proxy keys, admin and metrics tokens), a full
 * scenario through the proxy, and then a search of everything the outside can see: log lines,
 * spans, the /metrics scrape, every response body and header, anything printed on the console.
 * Not one secret (nor its distinctive core, so a truncated echo counts too) may appear.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const SECRETS = {
  openaiKey: 'sk-oai-PROVSECRETA-1f2e3d4c5b6a',
  anthropicKey: 'sk-ant-PROVSECRETB-a9b8c7d6e5f4',
  refusedKey: 'sk-oai-PROVSECRETC-0a0b0c0d0e0f',
  echoKey: 'sk-echo-PROVSECRETD-77aa88bb99cc',
  proxyKey: 'pk-PROXYSECRETE-4d5e6f7a8b9c',
  otherProxyKey: 'pk-PROXYSECRETF-7a8b9c0d1e2f',
  adminToken: 'adm-ADMINSECRETG-3c2b1a0f9e8d',
  metricsToken: 'met-METRICSSECRETH-9f8e7d6c5b4a',
} as const;
/** The distinctive core of each secret: found anywhere, even cut short, it is a leak. */
const CORES = Object.values(SECRETS).map((s) => /[A-Z]+SECRET[A-Z]/.exec(s)![0]);

/** An upstream that misbehaves the worst way: its 400s echo the key it was sent. */
async function startEchoingUpstream(): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      seen.push(auth);
      const body = JSON.stringify({
        error: {
          message: `Your request was malformed. Authorization was '${auth}', key ${auth.slice(7)}.`,
          type: 'invalid_request_error',
          param: null,
          code: `bad_${auth.slice(7)}`,
        },
      });
      res.writeHead(400, { 'content-type': 'application/json', 'x-echo-key': auth.slice(7) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, seen };
}

interface Seen {
  label: string;
  text: string;
}

let openai: FakeUpstream;
let anthropic: FakeUpstream;
let echo: Awaited<ReturnType<typeof startEchoingUpstream>>;

beforeAll(async () => {
  openai = await startFakeUpstream({ name: 'oai', apiKey: SECRETS.openaiKey });
  anthropic = await startFakeUpstream({ name: 'ant', apiKey: SECRETS.anthropicKey });
  echo = await startEchoingUpstream();
});

afterAll(async () => {
  await openai.close();
  await anthropic.close();
  echo.server.closeAllConnections();
  await new Promise((resolve) => echo.server.close(resolve));
});

function config(): Record<string, unknown> {
  return {
    auth: {
      apiKeys: [SECRETS.proxyKey, SECRETS.otherProxyKey],
      adminToken: SECRETS.adminToken,
      metricsToken: SECRETS.metricsToken,
      rateLimit: { requestsPerMinute: 60_000 },
    },
    providers: [
      {
        name: 'oai',
        type: 'openai',
        baseUrl: `${openai.url}/v1`,
        apiKey: SECRETS.openaiKey,
        models: ['gpt-4o-mini', 'text-embedding-3-small'],
        priority: 1,
      },
      {
        name: 'claude',
        type: 'anthropic',
        baseUrl: `${anthropic.url}/v1`,
        apiKey: SECRETS.anthropicKey,
        models: ['claude-3-5-haiku-latest'],
      },
      // The upstream knows another key: every call is an upstream 401.
      {
        name: 'refused',
        type: 'openai',
        baseUrl: `${openai.url}/v1`,
        apiKey: SECRETS.refusedKey,
        models: ['refused-model'],
      },
      {
        name: 'echo',
        type: 'openai',
        baseUrl: `${echo.url}/v1`,
        apiKey: SECRETS.echoKey,
        models: ['echo-model'],
      },
      { name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 5 },
    ],
    routing: { healthCheck: { enabled: true, intervalMs: 200, timeoutMs: 200 } },
    telemetry: { captureSpawnStacks: true },
  };
}

describe('no key or token ever leaves the proxy', () => {
  let proxy: RunningProxy;
  const seen: Seen[] = [];
  const console_: string[] = [];

  /** fetch that keeps every response (status, headers, body) for the search. */
  const recordingFetch = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    const res = await fetch(input, init);
    const copy = res.clone();
    const label = `${init?.method ?? 'GET'} ${String(input instanceof Request ? input.url : input)} -> ${res.status}`;
    seen.push({ label: `${label} headers`, text: JSON.stringify([...res.headers]) });
    pending.push(copy.text().then((text) => void seen.push({ label: `${label} body`, text })));
    return res;
  };
  const pending: Promise<void>[] = [];
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    recordingFetch(`${proxy.url}${path}`, init);
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const jsonPost = (token: string, body: unknown): RequestInit => ({
    method: 'POST',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  it('runs chat, streams, embeddings, upstream failures, bad auth, admin routes and a drain', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation(
        (...args: unknown[]) => void console_.push(args.map(String).join(' ')),
      );
    }
    proxy = await startProxy(config(), {}, { tracer: tracerProvider.getTracer('security-test') });
    const sdk = new OpenAI({
      baseURL: `${proxy.url}/v1`,
      apiKey: SECRETS.proxyKey,
      maxRetries: 0,
      fetch: recordingFetch,
    });
    const other = new OpenAI({
      baseURL: `${proxy.url}/v1`,
      apiKey: SECRETS.otherProxyKey,
      maxRetries: 0,
      fetch: recordingFetch,
    });

    // Traffic that works.
    await sdk.models.list();
    await sdk.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    for await (const _ of await other.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream please' }],
    }));
    await sdk.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me' });
    await sdk.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'hi claude' }],
    });
    for await (const _ of await sdk.chat.completions.create({
      model: 'claude-3-5-haiku-latest',
      stream: true,
      messages: [{ role: 'user', content: 'stream, claude' }],
    }));
    await sdk.chat.completions.create({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'local' }],
    });
    await sdk.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    }); // cache hit

    const settle = (p: Promise<unknown>): Promise<unknown> => p.catch((err: unknown) => err);
    // Upstream failures: a 401 for a wrong provider key, 500s, a 429, and a key-echoing 400.
    await expect(
      sdk.chat.completions.create({
        model: 'refused-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.APIError);
    // (Retries and health probes take from the failNext queue too: either outcome will do.)
    openai.failNext(4, 500);
    await settle(
      sdk.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'fail 1' }],
      }),
    );
    await settle(sdk.embeddings.create({ model: 'text-embedding-3-small', input: 'fail 2' }));
    openai.failNext(4, 429, 1);
    await settle(
      sdk.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'limited' }],
      }),
    );
    // The upstream's 400 is passed on (it is about the request), its echo of the key is not.
    const echoed = await settle(
      sdk.chat.completions.create({
        model: 'echo-model',
        messages: [{ role: 'user', content: 'echo' }],
      }),
    );
    expect(echoed).toBeInstanceOf(OpenAI.BadRequestError);
    expect((echoed as Error).message).toContain("Authorization was '[redacted]'");
    await expect(
      sdk.chat.completions.create({
        model: 'echo-model',
        stream: true,
        messages: [{ role: 'user', content: 'echo' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await call(
      '/v1/chat/completions',
      jsonPost(SECRETS.proxyKey, { model: 'gpt-4o-mini', messages: 'nope' }),
    );
    await call(
      '/v1/chat/completions',
      jsonPost(SECRETS.proxyKey, {
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    );

    // Bad credentials, including near misses and credentials of another kind.
    const chatBody = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] };
    for (const token of [
      `${SECRETS.proxyKey}x`,
      SECRETS.adminToken,
      SECRETS.metricsToken,
      SECRETS.openaiKey,
      SECRETS.proxyKey.slice(0, -2),
    ]) {
      expect((await call('/v1/chat/completions', jsonPost(token, chatBody))).status).toBe(401);
      expect((await call('/v1/models', { headers: { 'x-api-key': token } })).status).toBe(401);
    }
    expect((await call('/v1/models')).status).toBe(401);
    for (const token of [SECRETS.proxyKey, `${SECRETS.adminToken}x`, SECRETS.metricsToken]) {
      expect((await call('/admin/tasks', { headers: bearer(token) })).status).toBe(401);
      expect((await call('/admin/drain', { method: 'POST', headers: bearer(token) })).status).toBe(
        401,
      );
    }
    for (const token of [SECRETS.proxyKey, SECRETS.adminToken, `${SECRETS.metricsToken}x`]) {
      expect((await call('/metrics', { headers: bearer(token) })).status).toBe(401);
    }
    expect((await call('/metrics')).status).toBe(401);

    // Admin routes with a request in flight, then the drain, then traffic while drained.
    const slow = sdk.chat.completions.create({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'in flight' }],
    });
    expect((await call('/admin/tasks', { headers: bearer(SECRETS.adminToken) })).status).toBe(200);
    await slow;
    await call('/healthz');
    await call('/readyz');
    expect((await call('/metrics', { headers: bearer(SECRETS.metricsToken) })).status).toBe(200);
    expect(
      (await call('/admin/drain', { method: 'POST', headers: bearer(SECRETS.adminToken) })).status,
    ).toBe(200);
    expect((await call('/v1/chat/completions', jsonPost(SECRETS.proxyKey, chatBody))).status).toBe(
      503,
    );
    expect((await call('/metrics', { headers: bearer(SECRETS.metricsToken) })).status).toBe(200);
    await Promise.all(pending);

    // The scenario really happened: keys were used upstream (both fakes refuse any other
    // key, and answered), the echo really echoed, health probes and the 401s ran.
    expect(anthropic.lastRequest()?.headers['x-api-key']).toBe(SECRETS.anthropicKey);
    expect(echo.seen).toContain(`Bearer ${SECRETS.echoKey}`);
    expect(
      await proxy.metric('llm_proxy_upstream_requests_total', {
        provider: 'refused',
        outcome: 'client_error',
      }),
    ).toBeGreaterThan(0);
    expect(exporter.getFinishedSpans().length).toBeGreaterThan(20);
    expect(proxy.logs.length).toBeGreaterThan(20);

    // Now search everything.
    for (const span of exporter.getFinishedSpans()) {
      seen.push({
        label: `span ${span.name}`,
        text: JSON.stringify({
          name: span.name,
          attributes: span.attributes,
          events: span.events,
          status: span.status,
          links: span.links,
        }),
      });
    }
    for (const line of proxy.logs)
      seen.push({ label: `log ${String(line.msg)}`, text: JSON.stringify(line) });
    seen.push({ label: '/metrics (registry)', text: await proxy.metricsText() });
    for (const line of console_) seen.push({ label: 'console', text: line });
    const leaks: string[] = [];
    for (const { label, text } of seen) {
      for (const secret of [...Object.values(SECRETS), ...CORES]) {
        if (text.includes(secret))
          leaks.push(
            `${secret} in ${label}: ${text.slice(Math.max(0, text.indexOf(secret) - 80), text.indexOf(secret) + 60)}`,
          );
      }
    }
    expect(leaks).toEqual([]);
    expect(seen.length).toBeGreaterThan(100);
    await tracerProvider.shutdown();
    vi.restoreAllMocks();
    await proxy.stop();
  });
});
