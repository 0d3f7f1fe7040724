import { describe, expect, it } from 'vitest';
import { IdleWatch, Tail, type CpuReading } from './settle.js';

const OPTS = { quietMs: 100, maxRate: 0.05, everyMs: 10, maxWaitMs: 1000 };

/** Readings every 10 ms, with the CPU ms used in each interval. */
function readings(cpuPerInterval: readonly number[]): CpuReading[] {
  const out: CpuReading[] = [{ wallMs: 0, cpuMs: 0 }];
  for (const c of cpuPerInterval)
    out.push({ wallMs: out.length * 10, cpuMs: out[out.length - 1]!.cpuMs + c });
  return out;
}

describe('IdleWatch', () => {
  it('is quiet once every interval has stayed under the rate for quietMs', () => {
    const w = new IdleWatch(100, 0.05);
    const r = readings(Array<number>(12).fill(0.2)); // 2% of a core: idle
    const seen = r.map((x) => w.add(x));
    expect(seen.slice(0, 10).every((x) => x === undefined)).toBe(true);
    expect(seen[10]).toEqual(r[0]); // 100 ms after the first reading
  });

  it('restarts the quiet stretch at a busy interval', () => {
    const w = new IdleWatch(100, 0.05);
    // Busy 30 ms (8 ms of CPU per 10 ms), then idle.
    const r = readings([8, 8, 8, ...Array<number>(12).fill(0.1)]);
    const seen = r.map((x) => w.add(x));
    expect(seen.findIndex((x) => x !== undefined)).toBe(13);
    expect(seen[13]).toEqual(r[3]); // the quiet stretch began after the last busy interval
  });
});

describe('Tail', () => {
  it('is the busy stretch right after the phase, not the idle time after it', () => {
    const t = new Tail(OPTS);
    const r = readings([5, 5, ...Array<number>(20).fill(0.1)]);
    const done = r.map((x) => t.add(x, true));
    expect(done.indexOf(true)).toBe(12);
    expect(t.tailMs()).toBe(10);
    expect(t.burstMs()).toBe(0);
  });

  it('adds the burst that delivered the spans, not the idle wait before it', () => {
    const t = new Tail(OPTS);
    // Busy 20 ms (the tail), idle 300 ms, the export burst 20 ms, idle again.
    const r = readings([
      4,
      4,
      ...Array<number>(30).fill(0.1),
      3,
      3,
      ...Array<number>(15).fill(0.1),
    ]);
    const arrivedAt = 33; // the reading after the burst's first interval
    const done = r.map((x, i) => t.add(x, i >= arrivedAt));
    expect(done.slice(0, arrivedAt).some(Boolean)).toBe(false);
    expect(done.indexOf(true)).toBe(44);
    // 8 ms of tail and 6 ms of burst; the 3 ms of idle time in between are in neither.
    expect(t.tailMs()).toBe(8);
    expect(t.burstMs()).toBeCloseTo(6, 6);
  });

  it('counts no burst when the spans were in from the start', () => {
    const t = new Tail(OPTS);
    const r = readings([2, ...Array<number>(12).fill(0), 3, ...Array<number>(12).fill(0)]);
    for (const x of r) t.add(x, true);
    // A later busy spell (a GC, say) is not the phase's.
    expect(t.tailMs()).toBe(2);
    expect(t.burstMs()).toBe(0);
  });
});
