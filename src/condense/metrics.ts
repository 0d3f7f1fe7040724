/** The condenser's self-metric, one counter per outcome of a condensation. */
import type { Registry } from 'prom-client';
import { CounterVec, type CounterChild } from '../telemetry/metric-vec.js';

export const CONDENSE_RESULTS = ['condensed', 'cache_hit', 'truncated', 'rejected'] as const;
export type CondenseOutcome = (typeof CONDENSE_RESULTS)[number];

const NAME = 'llm_proxy_condense_total';

export class CondenserMetrics {
  readonly results: Record<CondenseOutcome, CounterChild>;

  /** Registers the counter once per registry; a second instance reuses the first's series. */
  constructor(registry: Registry) {
    const existing: unknown = registry.getSingleMetric(NAME);
    const vec =
      existing instanceof CounterVec
        ? existing
        : new CounterVec(
            NAME,
            'Over-budget conversations by what the condenser did: condensed (summarised), cache_hit ' +
              '(summary from cache), truncated (oldest messages dropped), rejected (too long, answered 400).',
            ['result'],
            registry,
          );
    this.results = Object.fromEntries(
      CONDENSE_RESULTS.map((result) => [result, vec.labels({ result })]),
    ) as Record<CondenseOutcome, CounterChild>;
  }
}
