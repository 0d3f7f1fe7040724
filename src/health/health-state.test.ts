import { describe, expect, it } from 'vitest';
import { initialHealth, nextHealth, type HealthTracker, type ProbeResult } from './health-state.js';

const CFG = { unhealthyAfter: 3, healthyAfter: 2, degradedLatencyMs: 1_000 };
const FAIL: ProbeResult = { ok: false };
const FAST: ProbeResult = { ok: true, latencyMs: 10 };
const SLOW: ProbeResult = { ok: true, latencyMs: 1_500 };

/** The states after each probe of `probes`, starting from `from`. */
function walk(probes: readonly ProbeResult[], from: HealthTracker = initialHealth()): string[] {
  const states: string[] = [];
  let t = from;
  for (const p of probes) {
    t = nextHealth(t, p, CFG);
    states.push(t.state);
  }
  return states;
}

describe('nextHealth (hysteresis)', () => {
  it('starts unknown, with nothing counted', () => {
    expect(initialHealth()).toEqual({ state: 'unknown', failures: 0, successes: 0 });
  });

  it('turns healthy on the first good probe from unknown', () => {
    expect(walk([FAST])).toEqual(['healthy']);
  });

  it('stays unknown through failures until unhealthyAfter of them in a row', () => {
    expect(walk([FAIL, FAIL, FAIL])).toEqual(['unknown', 'unknown', 'unhealthy']);
  });

  it('keeps a healthy provider healthy through fewer than unhealthyAfter failures', () => {
    expect(walk([FAST, FAIL, FAIL, FAST, FAIL, FAIL])).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'healthy',
      'healthy',
      'healthy',
    ]);
  });

  it('turns unhealthy on the unhealthyAfter-th consecutive failure', () => {
    expect(walk([FAST, FAIL, FAIL, FAIL])).toEqual(['healthy', 'healthy', 'healthy', 'unhealthy']);
  });

  it('needs healthyAfter good probes in a row to leave unhealthy', () => {
    expect(walk([FAIL, FAIL, FAIL, FAST, FAST])).toEqual([
      'unknown',
      'unknown',
      'unhealthy',
      'unhealthy',
      'healthy',
    ]);
  });

  it('restarts the recovery count when a failure interrupts it', () => {
    const down = { state: 'unhealthy' as const, failures: 3, successes: 0 };
    expect(walk([FAST, FAIL, FAST, FAST], down)).toEqual([
      'unhealthy',
      'unhealthy',
      'unhealthy',
      'healthy',
    ]);
  });

  it('calls a good probe slower than degradedLatencyMs degraded', () => {
    expect(walk([SLOW, FAST, SLOW])).toEqual(['degraded', 'healthy', 'degraded']);
  });

  it('recovers from unhealthy to degraded when the good probes are slow', () => {
    const down = { state: 'unhealthy' as const, failures: 3, successes: 0 };
    expect(walk([SLOW, SLOW], down)).toEqual(['unhealthy', 'degraded']);
  });

  it('counts failures and successes, each reset by the other', () => {
    let t = nextHealth(initialHealth(), FAIL, CFG);
    t = nextHealth(t, FAIL, CFG);
    expect(t).toMatchObject({ failures: 2, successes: 0 });
    t = nextHealth(t, FAST, CFG);
    expect(t).toMatchObject({ failures: 0, successes: 1 });
  });

  it('with unhealthyAfter and healthyAfter of 1, follows every probe', () => {
    const eager = { unhealthyAfter: 1, healthyAfter: 1, degradedLatencyMs: 1_000 };
    let t = initialHealth();
    const states = [FAIL, FAST, FAIL].map((p) => (t = nextHealth(t, p, eager)).state);
    expect(states).toEqual(['unhealthy', 'healthy', 'unhealthy']);
  });
});
