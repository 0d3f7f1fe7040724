/**
 * The proxy keeps Responses turns (`store`, true by default), through the official OpenAI
 * SDK: retrieve, delete and inputItems.list read what it kept; a previous_response_id turn is
 * expanded for every provider but the one that served the previous turn (so a second turn
 * that fails over to another provider, native or translated, still has the conversation);
 * an unknown id is OpenAI's 404; and with Redis two replicas share the conversation.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { eventually, stopReplicas } from '../cache-proxy/replicas.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const MODEL = 'gpt-chain';
const KEY = 'sk-proxy-client';

const upstreams: FakeUpstream[] = [];
const proxies: RunningProxy[] = [];
afterEach(async () => {
  await stopReplicas(proxies.splice(0));
  for (const up of upstreams.splice(0)) await up.close();
});

async function upstream(name: string): Promise<FakeUpstream> {
  const up = await startFakeUpstream({ name });
  upstreams.push(up);
  return up;
}

/** A provider of MODEL; `native` ones pass /v1/responses through. */
const provider = (name: string, up: FakeUpstream, priority: number, native: boolean) => ({
  name,
  type: 'openai',
  baseUrl: `${up.url}/v1`,
  apiKey: 'k',
  models: [MODEL],
  priority,
  timeoutMs: 10_000,
  ...(native ? { nativeApis: ['chat', 'responses'] } : {}),
});

async function proxy(providers: unknown[], extra: Record<string, unknown> = {}) {
  const p = await startProxy({
    auth: { apiKeys: [KEY] },
    providers,
    routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 } },
    cache: { enabled: false },
    ...extra,
  });
  proxies.push(p);
  return p;
}

const userTexts = (messages: unknown): unknown[] =>
  (messages as { role: string; content: unknown }[])
    .filter((m) => m.role === 'user')
    .map((m) => m.content);

describe('stored responses', () => {
  it('retrieves, lists the input items of, and deletes a stored response', async () => {
    const up = await upstream('oai');
    const { client } = await proxy([provider('chat', up, 1, false)]);
    const first = await client.responses.create({ model: MODEL, input: 'first question' });
    const second = await client.responses.create({
      model: MODEL,
      input: [{ role: 'user', content: 'second question' }],
      previous_response_id: first.id,
    });
    expect(await client.responses.retrieve(first.id)).toEqual(first);
    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((i) => i.type)).toEqual(['message', 'message', 'message']);
    expect(items.data.map((i) => (i as { role: string }).role)).toEqual([
      'user',
      'assistant',
      'user',
    ]);
    const newestFirst = await client.responses.inputItems.list(second.id, { limit: 1 });
    expect(newestFirst.data).toEqual([expect.objectContaining({ content: 'second question' })]);
    expect(newestFirst.has_more).toBe(true);
    expect(await client.responses.delete(first.id)).toEqual({
      id: first.id,
      object: 'response',
      deleted: true,
    });
    await expect(client.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('expands the conversation for a translating provider', async () => {
    const up = await upstream('oai');
    const { client } = await proxy([provider('chat', up, 1, false)]);
    const first = await client.responses.create({ model: MODEL, input: 'remember 42' });
    await client.responses.create({
      model: MODEL,
      input: 'what number?',
      previous_response_id: first.id,
    });
    const sent = up.lastRequest()?.body as { messages: { role: string; content: unknown }[] };
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(userTexts(sent.messages)).toEqual(['remember 42', 'what number?']);
    expect(sent.messages[1]?.content).toEqual([{ type: 'text', text: 'echo: remember 42' }]);
  });

  it('answers an unknown previous_response_id with a 404 naming it', async () => {
    const up = await upstream('oai');
    const { client } = await proxy([provider('chat', up, 1, false)]);
    const err = await client.responses
      .create({ model: MODEL, input: 'and then?', previous_response_id: 'resp_unknown' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const notFound = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(notFound.param).toBe('previous_response_id');
    expect(notFound.code).toBe('previous_response_not_found');
    expect(up.requests).toBe(0);
  });

  it('keeps nothing when the request says store: false', async () => {
    const up = await upstream('oai');
    const { client } = await proxy([provider('chat', up, 1, false)]);
    const response = await client.responses.create({ model: MODEL, input: 'hi', store: false });
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });

  it.each([
    { second: 'a translating provider', native: false },
    { second: 'another native provider', native: true },
  ])('continues on $second when the first fails the second turn', async ({ native }) => {
    const a = await upstream('a');
    const b = await upstream('b');
    const { client } = await proxy([provider('alpha', a, 1, true), provider('beta', b, 2, native)]);
    const first = await client.responses.create({ model: MODEL, input: 'remember 42' });
    expect(a.lastRequest()?.path).toBe('/v1/responses');
    a.failNext(1, 500);
    const stream = client.responses.stream({
      model: MODEL,
      input: 'what number?',
      previous_response_id: first.id,
    });
    const second = await stream.finalResponse();
    expect(second.output_text).toBe('echo: what number?');
    const sent = b.lastRequest()?.body as Record<string, unknown>;
    if (native) {
      // Expanded: b never issued first.id (the fake refuses ids it did not issue).
      expect(sent['previous_response_id']).toBeUndefined();
      expect((sent['input'] as unknown[]).length).toBe(3);
    } else {
      expect(userTexts(sent['messages'])).toEqual(['remember 42', 'what number?']);
    }
    // The third turn continues from the second, stored from its stream.
    const third = await client.responses.create({
      model: MODEL,
      input: 'and again?',
      previous_response_id: second.id,
    });
    expect(third.status).toBe('completed');
  });

  it('sends the client body unchanged to the native provider that served the previous turn', async () => {
    const a = await upstream('a');
    const { client } = await proxy([provider('alpha', a, 1, true)]);
    const first = await client.responses.create({ model: MODEL, input: 'remember 42' });
    await client.responses.create({ model: MODEL, input: 'next', previous_response_id: first.id });
    expect(a.lastRequest()?.body).toMatchObject({ previous_response_id: first.id, input: 'next' });
  });
});

describe('stored responses shared through Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('continues on another replica a conversation begun on one', async () => {
    const up = await upstream('oai');
    const shared = { cache: { enabled: false, redis: { url: server.url, keyPrefix: 'rs' } } };
    const one = await proxy([provider('chat', up, 1, false)], shared);
    const two = await proxy([provider('chat', up, 1, false)], shared);
    for (const replica of [one, two]) {
      await eventually(async () =>
        expect(await replica.metric('llm_proxy_cache_redis_up')).toBe(1),
      );
    }
    const first = await one.client.responses.create({ model: MODEL, input: 'remember 42' });
    await one.app.drain();
    const second = await two.client.responses.create({
      model: MODEL,
      input: 'what number?',
      previous_response_id: first.id,
    });
    expect(second.status).toBe('completed');
    const sent = up.lastRequest()?.body as { messages: unknown };
    expect(userTexts(sent.messages)).toEqual(['remember 42', 'what number?']);
    expect((await two.client.responses.retrieve(first.id)).id).toBe(first.id);
  });

  it('deletes a response on every replica, a copy another replica holds in memory included', async () => {
    const up = await upstream('oai');
    const shared = { cache: { enabled: false, redis: { url: server.url, keyPrefix: 'rd' } } };
    const one = await proxy([provider('chat', up, 1, false)], shared);
    const two = await proxy([provider('chat', up, 1, false)], shared);
    for (const replica of [one, two]) {
      await eventually(async () =>
        expect(await replica.metric('llm_proxy_cache_redis_up')).toBe(1),
      );
    }
    const first = await one.client.responses.create({ model: MODEL, input: 'forget me' });
    // Replica two reads it (through Redis, once written) and so holds it in memory too.
    await eventually(async () =>
      expect((await two.client.responses.retrieve(first.id)).id).toBe(first.id),
    );
    const deleted = await one.client.responses.delete(first.id);
    expect(deleted).toMatchObject({ id: first.id, deleted: true });
    await one.app.drain(); // the evict task's DEL has reached Redis
    const gone = await two.client.responses.retrieve(first.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
