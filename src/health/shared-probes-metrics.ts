/**
 * Self-metrics of shared health. Probes this replica actually sent are the rounds with
 * result "probed" (as lock holder) plus "local" (Redis unavailable, or no usable news);
 * summed over replicas, "probed" should grow by about one per provider per interval.
 */
import type { Registry } from 'prom-client';
import { CounterVec, GaugeVec } from '../telemetry/metric-vec.js';

export const SHARED_ROUND_RESULTS = ['probed', 'read', 'no_news', 'local'] as const;
export type SharedRoundResult = (typeof SHARED_ROUND_RESULTS)[number];

export class SharedProbesMetrics {
  private readonly rounds: CounterVec;
  private readonly lockHeld: GaugeVec;

  constructor(registry: Registry) {
    this.rounds = new CounterVec(
      'llm_proxy_health_shared_rounds_total',
      'Shared health rounds per provider by what this replica did: probed (holds the lock), ' +
        'read (used a result another replica published), no_news (no fresh result), ' +
        'local (probed itself: Redis unavailable or no usable news).',
      ['provider', 'result'],
      registry,
    );
    this.lockHeld = new GaugeVec(
      'llm_proxy_health_lock_held',
      '1 while this replica holds the provider health lock (probes for every replica).',
      ['provider'],
      registry,
    );
  }

  /** Creates the provider's series at zero, so they exist from the first scrape. */
  track(provider: string): void {
    for (const result of SHARED_ROUND_RESULTS) this.rounds.labels({ provider, result });
    this.lockHeld.labels({ provider });
  }

  round(provider: string, result: SharedRoundResult): void {
    this.rounds.labels({ provider, result }).inc();
  }

  held(provider: string, held: boolean): void {
    this.lockHeld.labels({ provider }).set(held ? 1 : 0);
  }
}
