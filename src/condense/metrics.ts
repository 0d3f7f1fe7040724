/**
 * The condenser's self-metrics: one counter per outcome of a condensation, and one per step of
 * the summary claims replicas take in Redis (see CondenserCache.claim).
 */
import type { Registry } from 'prom-client';
import { CounterVec, type CounterChild } from '../telemetry/metric-vec.js';

export const CONDENSE_RESULTS = ['condensed', 'cache_hit', 'truncated', 'rejected'] as const;
export type CondenseOutcome = (typeof CONDENSE_RESULTS)[number];

/**
 * claimed: this replica took the claim and made the summary (or tried to). waited: another
 * replica held it and this one got its summary from Redis. handed_over: a claim this replica
 * waited on ended without a summary (its holder failed, or died and the claim expired).
 * unshared: no Redis to claim through (not configured, down, or failing): made here.
 */
export const CLAIM_RESULTS = ['claimed', 'waited', 'handed_over', 'unshared'] as const;
export type ClaimResult = (typeof CLAIM_RESULTS)[number];

const NAME = 'llm_proxy_condense_total';
const CLAIMS = 'llm_proxy_condense_claims_total';

/** The registry's counter of that name if one is registered, else a new one. */
function counter(registry: Registry, name: string, help: string, label: string): CounterVec {
  const existing: unknown = registry.getSingleMetric(name);
  return existing instanceof CounterVec ? existing : new CounterVec(name, help, [label], registry);
}

export class CondenserMetrics {
  readonly results: Record<CondenseOutcome, CounterChild>;
  readonly claims: Record<ClaimResult, CounterChild>;

  /** Registers the counters once per registry; a second instance reuses the first's series. */
  constructor(registry: Registry) {
    const results = counter(
      registry,
      NAME,
      'Over-budget conversations by what the condenser did: condensed (summarised), cache_hit ' +
        '(summary from cache), truncated (oldest messages dropped), rejected (too long, answered 400).',
      'result',
    );
    this.results = Object.fromEntries(
      CONDENSE_RESULTS.map((result) => [result, results.labels({ result })]),
    ) as Record<CondenseOutcome, CounterChild>;
    const claims = counter(
      registry,
      CLAIMS,
      'Summaries no cache held, by how replicas settled who makes them: claimed (made here), ' +
        'waited (made by another replica), handed_over (a claim waited on ended without a ' +
        'summary), unshared (no Redis to claim through).',
      'result',
    );
    this.claims = Object.fromEntries(
      CLAIM_RESULTS.map((result) => [result, claims.labels({ result })]),
    ) as Record<ClaimResult, CounterChild>;
  }
}
