/** Load generators for bench:proxy: closed loop, fixed rate, and streaming time-to-first-byte. */
import { Pool } from 'undici';
import { uncancelled } from './procs.js';
import { sleep } from '../tasks/timers.js';

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

export interface Shot {
  path: string;
  body: string;
}

function pool(url: string, connections: number): Pool {
  return new Pool(url, { connections, keepAliveTimeout: 30_000 });
}

async function once(p: Pool, t: Target, shot: Shot): Promise<number> {
  const res = await p.request({
    method: 'POST',
    path: shot.path,
    headers: { ...t.headers, 'content-type': 'application/json' },
    body: shot.body,
  });
  await res.body.dump({ limit: 1 << 30 });
  return res.statusCode;
}

/** `concurrency` workers back to back for `seconds`: requests done and errors. */
export async function closedLoop(
  t: Target,
  shot: Shot,
  concurrency: number,
  seconds: number,
): Promise<{ requests: number; errors: number; seconds: number }> {
  const p = pool(t.url, concurrency);
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        try {
          if ((await once(p, t, shot)) === 200) requests++;
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await p.close();
  return { requests, errors, seconds: elapsed };
}

/** Requests started at a fixed rate (open loop); returns each request's latency in ms. */
export async function fixedRate(
  t: Target,
  shot: Shot,
  rate: number,
  seconds: number,
): Promise<number[]> {
  const p = pool(t.url, 64);
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait, uncancelled);
    const start = performance.now();
    inflight.push(
      once(p, t, shot).then(
        () => void latencies.push(performance.now() - start),
        () => undefined,
      ),
    );
  }
  await Promise.all(inflight);
  await p.close();
  return latencies;
}

/** Streams with `concurrency` in flight: time to first body byte (ms) of each, fully consumed. */
export async function streams(
  t: Target,
  shot: Shot,
  concurrency: number,
  count: number,
): Promise<number[]> {
  const p = pool(t.url, concurrency);
  const ttfb: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const start = performance.now();
        const res = await p.request({
          method: 'POST',
          path: shot.path,
          headers: { ...t.headers, 'content-type': 'application/json' },
          body: shot.body,
        });
        let first = true;
        for await (const _chunk of res.body) {
          if (first) {
            ttfb.push(performance.now() - start);
            first = false;
          }
        }
      }
    }),
  );
  await p.close();
  return ttfb;
}
