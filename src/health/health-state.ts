/**
 * Health with hysteresis (pure): a provider turns unhealthy only after `unhealthyAfter`
 * consecutive failed probes and healthy again only after `healthyAfter` consecutive good
 * ones, so one slow or lost probe does not flap routing. A good but slow probe is degraded.
 */
import type { HealthCheckConfig } from '../config/index.js';
import type { ProviderHealth } from '../routing/policy/index.js';

export interface HealthTracker {
  state: ProviderHealth;
  failures: number;
  successes: number;
}

export function initialHealth(): HealthTracker {
  return { state: 'unknown', failures: 0, successes: 0 };
}

/** Why a probe failed, for the log lines (see probe-failure.ts). */
export interface ProbeFailure {
  /** The upstream's HTTP status, when it answered with one. */
  status?: number | undefined;
  /** The upstream's error code (OpenAI's `code`), when it gave one. */
  code?: string | undefined;
  /** One short line: "HTTP 401: Incorrect API key provided.", "no answer within 5000 ms". */
  reason: string;
}

export type ProbeResult = { ok: true; latencyMs: number } | { ok: false; failure?: ProbeFailure };

export function nextHealth(
  t: HealthTracker,
  probe: ProbeResult,
  cfg: Pick<HealthCheckConfig, 'unhealthyAfter' | 'healthyAfter' | 'degradedLatencyMs'>,
): HealthTracker {
  if (!probe.ok) {
    const failures = t.failures + 1;
    const state =
      failures >= cfg.unhealthyAfter ? 'unhealthy' : t.state === 'unknown' ? 'unknown' : t.state;
    return { state, failures, successes: 0 };
  }
  const successes = t.successes + 1;
  const good = probe.latencyMs > cfg.degradedLatencyMs ? 'degraded' : 'healthy';
  if (t.state === 'unhealthy' && successes < cfg.healthyAfter)
    return { state: 'unhealthy', failures: 0, successes };
  return { state: good, failures: 0, successes };
}
