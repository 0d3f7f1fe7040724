/**
 * The Responses API's response store on a real Redis shared by two replicas: a turn stored
 * on one is read on the other, written once with the configured TTL by a declared
 * `response_store/persist` task; a deletion reaches Redis by a `response_store/evict` task;
 * what Redis holds that is not a stored turn is a miss; without Redis it is memory only.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { ResponseStore, type StoredResponse } from '../../src/cache/response-store.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const PREFIX = 'llmp-test';
const key = (id: string): string => `${PREFIX}:v1:rstore:${id}`;

const turn = (id: string, text: string): StoredResponse => ({
  response: {
    id,
    object: 'response',
    status: 'completed',
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }],
  },
  input: [{ role: 'user', content: 'hi' }],
  provider: 'alpha',
});

async function tasksStarted(registry: Registry, task: string): Promise<number> {
  const text = await registry.metrics();
  const prefix = `llm_proxy_tasks_started_total{owner="response_store",task="${task}"}`;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`no series ${prefix}`);
  return Number(line.split(' ').pop());
}

describe('ResponseStore', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const stores: ResponseStore[] = [];

  async function replica(redis: 'redis' | 'memory' = 'redis', ttlSeconds = 120) {
    let client: Redis | undefined;
    if (redis === 'redis') {
      client = new Redis(server.url, { commandTimeout: 300, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      await client.ping();
    }
    const registry = new Registry();
    const supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
    const store = new ResponseStore({
      scope: supervisor.scope('response_store'),
      metrics: new CacheMetrics(registry),
      logger: silentLogger(),
      redis: client,
      keyPrefix: PREFIX,
      ttlSeconds,
      maxEntries: 100,
      maxBytes: 1 << 20,
    });
    stores.push(store);
    return { store, registry };
  }

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    await admin.flushall();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.stop(2_000);
    for (const c of clients.splice(0)) c.disconnect();
  });

  it('writes a stored turn once to Redis with the TTL, in a response_store/persist task', async () => {
    const { store, registry } = await replica('redis', 600);
    store.set('resp_1', turn('resp_1', 'one'));
    expect((await store.flush()).pending).toBe(0);
    expect(await admin.keys(`${PREFIX}:*`)).toEqual([key('resp_1')]);
    expect(JSON.parse((await admin.get(key('resp_1'))) ?? 'null')).toEqual(turn('resp_1', 'one'));
    const ttl = await admin.ttl(key('resp_1'));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await tasksStarted(registry, 'persist')).toBe(1);
  });

  it('serves a turn stored on another replica', async () => {
    const a = await replica();
    const b = await replica();
    a.store.set('resp_2', turn('resp_2', 'two'));
    await a.store.flush();
    expect(await b.store.get('resp_2')).toEqual(turn('resp_2', 'two'));
    expect(b.store.size).toBe(1);
  });

  it('deletes in Redis too, in a response_store/evict task: another replica then misses', async () => {
    const a = await replica();
    a.store.set('resp_3', turn('resp_3', 'three'));
    await a.store.flush();
    a.store.delete('resp_3');
    await a.store.flush();
    expect(await admin.exists(key('resp_3'))).toBe(0);
    expect(await tasksStarted(a.registry, 'evict')).toBe(1);
    const b = await replica();
    expect(await b.store.get('resp_3')).toBeUndefined();
    expect(await a.store.get('resp_3')).toBeUndefined();
  });

  it('misses on what Redis holds that is not a stored turn', async () => {
    const { store } = await replica();
    await admin.set(key('resp_bad'), JSON.stringify({ response: { id: 'x' }, input: [] }));
    expect(await store.get('resp_bad')).toBeUndefined();
    expect(await store.get('resp_unknown')).toBeUndefined();
  });

  it('keeps turns in memory only without Redis', async () => {
    const { store } = await replica('memory');
    store.set('resp_4', turn('resp_4', 'four'));
    expect(await store.get('resp_4')).toEqual(turn('resp_4', 'four'));
    expect(await admin.keys('*')).toEqual([]);
  });
});
