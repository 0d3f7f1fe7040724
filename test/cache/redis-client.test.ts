import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheMetrics } from '../../src/cache/metrics.js';
import { closeRedis, createRedisClient } from '../../src/cache/redis.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server.stop();
});

function collectingLogger(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger({
      level: 'debug',
      destination: { write: (l: string) => void lines.push(l) },
    }),
  };
}

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

const options = (url: string) => ({ url, commandTimeoutMs: 300, connectTimeoutMs: 1_000 });

describe('createRedisClient', () => {
  it('reports redisUp, logs one line per outage (not per retry), and recovers', async () => {
    const metrics = new CacheMetrics(new Registry());
    const { lines, logger } = collectingLogger();
    const client = createRedisClient(options(server.url), metrics, logger);
    try {
      await vi.waitFor(() => expect(metrics.redisUp.value).toBe(1));
      await server.kill();
      await vi.waitFor(() => expect(metrics.redisUp.value).toBe(0));
      // Several reconnect attempts fail meanwhile (50, 100, 200, 400 ms backoff).
      await new Promise((r) => setTimeout(r, 900));
      const warnings = lines.filter((l) => l.includes('redis unavailable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`127.0.0.1:${server.port}`);

      await server.restart();
      await vi.waitFor(() => expect(metrics.redisUp.value).toBe(1), { timeout: 5_000 });
      expect(lines.filter((l) => l.includes('redis connection restored'))).toHaveLength(1);
      expect(await client.ping()).toBe('PONG');

      await server.kill();
      await vi.waitFor(() =>
        expect(lines.filter((l) => l.includes('redis unavailable'))).toHaveLength(2),
      );
      await server.restart();
      await vi.waitFor(() => expect(metrics.redisUp.value).toBe(1), { timeout: 5_000 });
    } finally {
      await closeRedis(client, 1_000);
    }
  });

  it('fails commands at once while disconnected instead of queueing them', async () => {
    const metrics = new CacheMetrics(new Registry());
    const { logger } = collectingLogger();
    const client = createRedisClient(
      options(`redis://127.0.0.1:${await freePort()}`),
      metrics,
      logger,
    );
    try {
      const t0 = performance.now();
      await expect(client.get('k')).rejects.toThrow();
      expect(performance.now() - t0).toBeLessThan(50);
      expect(metrics.redisUp.value).toBe(0);
    } finally {
      await closeRedis(client, 1_000);
    }
  });

  it('never logs the password of the Redis URL, even when authentication fails', async () => {
    const admin = new Redis(server.url);
    await admin.config('SET', 'requirepass', 'right-pass');
    const metrics = new CacheMetrics(new Registry());
    const { lines, logger } = collectingLogger();
    const url = `redis://:wrong-pass-s3cret@127.0.0.1:${server.port}`;
    const client = createRedisClient(options(url), metrics, logger);
    try {
      await vi.waitFor(() => expect(lines.some((l) => l.includes('redis unavailable'))).toBe(true));
      expect(metrics.redisUp.value).toBe(0);
      expect(lines.join('\n')).not.toContain('wrong-pass-s3cret');
      expect(lines.join('\n')).toContain('***');
    } finally {
      await closeRedis(client, 1_000);
      await admin.config('SET', 'requirepass', '');
      await admin.quit();
    }
  });
});

describe('closeRedis', () => {
  it('quits and resolves once the socket is closed, leaving no handle behind', async () => {
    await new Promise((r) => setTimeout(r, 100)); // let earlier tests' sockets finish closing
    const before = sockets();
    const client = createRedisClient(
      options(server.url),
      new CacheMetrics(new Registry()),
      collectingLogger().logger,
    );
    await vi.waitFor(() => expect(client.status).toBe('ready'));
    expect(sockets()).toBe(before + 1);
    await closeRedis(client, 1_000);
    expect(client.status).toBe('end');
    expect(client.stream.destroyed).toBe(true);
    expect(sockets()).toBe(before);
    await closeRedis(client, 1_000); // idempotent
  });

  it('returns promptly for a client that is between reconnect attempts, and stops retrying', async () => {
    const port = await freePort();
    const client = createRedisClient(
      options(`redis://127.0.0.1:${port}`),
      new CacheMetrics(new Registry()),
      collectingLogger().logger,
    );
    await vi.waitFor(() => expect(client.status).toBe('reconnecting'));
    const t0 = performance.now();
    await closeRedis(client, 1_000);
    expect(performance.now() - t0).toBeLessThan(100);
    const attempts: string[] = [];
    client.on('connecting', () => attempts.push('connecting'));
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toEqual([]);
  });
});
