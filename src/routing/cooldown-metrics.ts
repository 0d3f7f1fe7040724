/**
 * Self-metrics of rate-limit cooldowns: how long each provider has left (read at scrape time,
 * as it is state), and how often one started, by where this replica learned of it.
 */
import type { Registry } from 'prom-client';
import {
  byLabel,
  CounterVec,
  GaugeVec,
  type CounterChild,
  type GaugeChild,
} from '../telemetry/metric-vec.js';

/** `local`: this replica got the 429. `shared`: another replica did, and said so through Redis. */
export const COOLDOWN_SOURCES = ['local', 'shared'] as const;
export type CooldownSource = (typeof COOLDOWN_SOURCES)[number];

export class CooldownMetrics {
  private readonly started = new Map<string, Record<CooldownSource, CounterChild>>();

  constructor(
    registry: Registry,
    providers: readonly string[],
    remainingMs: (provider: string) => number,
  ) {
    const seconds = new Map<string, GaugeChild>();
    const gauge = new GaugeVec(
      'llm_proxy_provider_cooldown_seconds',
      'Seconds left before a rate-limited provider is sent requests again (0: not cooling down).',
      ['provider'],
      registry,
      () => {
        for (const [provider, child] of seconds) child.set(remainingMs(provider) / 1000);
      },
    );
    const counter = new CounterVec(
      'llm_proxy_provider_cooldowns_total',
      'Cooldowns started or extended by a 429 with Retry-After, by source: local (this ' +
        'replica got the 429) or shared (another replica did, through Redis).',
      ['provider', 'source'],
      registry,
    );
    for (const provider of providers) {
      seconds.set(provider, gauge.labels({ provider }));
      this.started.set(
        provider,
        byLabel(COOLDOWN_SOURCES, (source) => counter.labels({ provider, source })),
      );
    }
  }

  noted(provider: string, source: CooldownSource): void {
    this.started.get(provider)?.[source].inc();
  }
}
