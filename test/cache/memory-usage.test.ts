/**
 * The seed's "memory usage tracking": creating, using and stopping a cache (with its Redis
 * client, its loops and writer daemon, a supervisor and a registry) over and over leaves the
 * heap flat. The heap is read after a full GC (V8's gc, exposed at run time), after warm-up
 * cycles, then at the middle and the end of the measured cycles: neither half may grow by
 * more than a small bound. Measured: a half grows by 0.1-0.2 MB; one cycle's cache left
 * reachable holds ~1.2 MB, so a cache leaked every cycle would add ~12 MB to each half.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { answer, buildCache } from './harness.js';

/** V8's gc(): `--expose-gc` set now, read from a fresh context (vitest workers lack the flag). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const WARM_UP = 6;
const MEASURED = 20;
const ENTRIES = 400;
/** Heap a half of the measured cycles may add: several times the noise, far under a leak. */
const HALF_BOUND = 1.5 * 1024 * 1024;

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

/** One cycle: build a cache on Redis, start it, fill it, read it back, flush, stop, close. */
async function cycle(n: number): Promise<void> {
  const b = await buildCache({ redisUrl: server.url, cleanupIntervalMs: 5, monitorIntervalMs: 5 });
  b.cache.start();
  const padding = 'x'.repeat(2_000);
  for (let i = 0; i < ENTRIES; i++) b.cache.set(`k${i}`, answer(n * ENTRIES + i, padding));
  for (let i = 0; i < ENTRIES; i += 10) {
    if ((await b.cache.get(`k${i}`)) === undefined) throw new Error(`k${i} missing`);
  }
  await b.cache.flush(2_000);
  await b.close();
}

async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

describe('memory usage tracking', () => {
  it('keeps the heap flat over repeated create/use/stop cycles of the cache', async () => {
    const gc = exposeGc();
    for (let n = 0; n < WARM_UP; n++) await cycle(n);
    const start = await settledHeap(gc);
    for (let n = 0; n < MEASURED / 2; n++) await cycle(WARM_UP + n);
    const middle = await settledHeap(gc);
    for (let n = MEASURED / 2; n < MEASURED; n++) await cycle(WARM_UP + n);
    const end = await settledHeap(gc);

    const growth = { firstHalf: middle - start, secondHalf: end - middle };
    expect(growth.firstHalf, JSON.stringify(growth)).toBeLessThan(HALF_BOUND);
    expect(growth.secondHalf, JSON.stringify(growth)).toBeLessThan(HALF_BOUND);
  }, 120_000);
});
