/**
 * Probes every enabled provider on an interval: one `health_checker/loop` task spawning a
 * `health_checker/probe` task per provider, each bounded by the probe timeout. Results feed
 * routing (unhealthy providers are skipped while others can serve) and
 * llm_proxy_provider_up / llm_proxy_provider_health.
 * Loud on purpose: every change of a provider's state is logged once with the probe's
 * reason (the first verdict out of `unknown` included), info when it comes up and warn when
 * it goes down; and a provider refusing its probes before any verdict (a 401, 403 or 404:
 * a wrong key, a baseUrl without its API root) gets one warn line at once naming the likely
 * cause, rather than a quiet llm_proxy_provider_up 0 some intervals later.
 */
import type { Logger } from 'pino';
import type { HealthCheckConfig } from '../config/index.js';
import type { Provider } from '../upstream/index.js';
import type { ProviderHealth } from '../routing/policy/index.js';
import { HEALTH_LOOP, HEALTH_PROBE, type Scope, type TaskContext } from '../tasks/index.js';
import { HEALTH_STATES, type ProxyMetrics } from '../telemetry/proxy-metrics.js';
import {
  initialHealth,
  nextHealth,
  type HealthTracker,
  type ProbeFailure,
  type ProbeResult,
} from './health-state.js';
import { likelyCause, probeFailure } from './probe-failure.js';

/** Where probe results come from: probing ourselves, or (with Redis) a shared source. */
export interface ProbeSource {
  /** Returns this round's result per provider name; undefined = no news this round. */
  round(
    ctx: TaskContext,
    providers: readonly Provider[],
    probe: (p: Provider) => Promise<ProbeResult>,
  ): Promise<Map<string, ProbeResult>>;
}

export interface HealthCheckerOptions {
  scope: Scope;
  providers: readonly Provider[];
  config: HealthCheckConfig;
  metrics: ProxyMetrics;
  logger: Logger;
  source?: ProbeSource;
}

/** Probes every provider itself, in parallel, each a probe task with a deadline. */
export const localProbes: ProbeSource = {
  async round(_ctx, providers, probe) {
    const results = await Promise.all(providers.map(probe));
    return new Map(providers.map((p, i) => [p.name, results[i]!]));
  },
};

export class HealthChecker {
  private readonly trackers = new Map<string, HealthTracker>();
  private readonly probed: readonly Provider[];
  /** Providers whose refusal at start-up has been logged (once each). */
  private readonly refusalLogged = new Set<string>();

  constructor(private readonly opts: HealthCheckerOptions) {
    this.probed = opts.providers.filter((p) => p.config.enabled);
    for (const p of opts.providers) this.trackers.set(p.name, initialHealth());
  }

  health(provider: string): ProviderHealth {
    return this.trackers.get(provider)?.state ?? 'unknown';
  }

  start(): void {
    const { config } = this.opts;
    if (!config.enabled || this.probed.length === 0) return;
    this.opts.scope.every(HEALTH_LOOP, { intervalMs: config.intervalMs }, (ctx) => this.round(ctx));
  }

  /** One probing round (also used directly by tests). */
  async round(ctx: TaskContext): Promise<void> {
    const source = this.opts.source ?? localProbes;
    const results = await source.round(ctx, this.probed, (p) => this.probe(ctx, p));
    if (ctx.signal.aborted) return;
    for (const [name, result] of results) this.record(name, result);
  }

  private async probe(ctx: TaskContext, provider: Provider): Promise<ProbeResult> {
    const started = performance.now();
    const handle = ctx.scope.spawn(
      HEALTH_PROBE,
      (probe) => provider.probe({ signal: probe.signal }),
      {
        deadlineMs: this.opts.config.timeoutMs,
      },
    );
    const result = await handle.settled;
    return result.outcome === 'completed'
      ? { ok: true, latencyMs: performance.now() - started }
      : { ok: false, failure: probeFailure(result, this.opts.config.timeoutMs) };
  }

  record(name: string, result: ProbeResult): void {
    const before = this.trackers.get(name) ?? initialHealth();
    const after = nextHealth(before, result, this.opts.config);
    this.trackers.set(name, after);
    const m = this.opts.metrics.provider(name);
    m.up.set(after.state === 'unhealthy' ? 0 : 1);
    const shown = after.state === 'unknown' ? 'healthy' : after.state;
    for (const s of HEALTH_STATES) m.health[s].set(s === shown ? 1 : 0);
    if (!result.ok && result.failure !== undefined && before.state === 'unknown')
      this.refusedAtStart(name, result.failure);
    if (after.state !== before.state) this.changed(name, before.state, after.state, result);
  }

  /** One line per change of state: info when the provider comes up, warn when it goes down. */
  private changed(name: string, from: string, to: string, result: ProbeResult): void {
    const reason = result.ok
      ? `probe answered in ${Math.round(result.latencyMs)} ms` +
        (to === 'degraded' ? ` (over healthCheck.degradedLatencyMs)` : '')
      : (result.failure?.reason ?? 'probe failed');
    const cause =
      result.ok || result.failure === undefined ? undefined : likelyCause(result.failure);
    const fields = {
      provider: name,
      from,
      to,
      reason,
      ...(cause === undefined ? {} : { likelyCause: cause }),
    };
    const line = `provider health changed: ${name} ${from} -> ${to}: ${reason}`;
    if (to === 'unhealthy') this.opts.logger.warn(fields, line);
    else this.opts.logger.info(fields, line);
  }

  /**
   * A refusal before the provider's first verdict that points at its configuration: one warn
   * line, at once, naming the likely cause and quoting the upstream.
   */
  private refusedAtStart(name: string, failure: ProbeFailure): void {
    const cause = likelyCause(failure);
    if (cause === undefined || this.refusalLogged.has(name)) return;
    this.refusalLogged.add(name);
    this.opts.logger.warn(
      { provider: name, status: failure.status, reason: failure.reason, likelyCause: cause },
      `provider ${name} refused its health probe with ${failure.reason}; likely cause: ${cause}`,
    );
  }
}
