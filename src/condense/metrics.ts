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

/**
 * One child per value of a `result`-labelled counter, pre-initialised; the registry's counter
 * of that name is reused if one is registered (one per registry, however many condensers).
 */
function resultCounters<R extends string>(
  registry: Registry,
  name: string,
  help: string,
  results: readonly R[],
): Record<R, CounterChild> {
  const existing: unknown = registry.getSingleMetric(name);
  const vec =
    existing instanceof CounterVec ? existing : new CounterVec(name, help, ['result'], registry);
  return Object.fromEntries(results.map((result) => [result, vec.labels({ result })])) as Record<
    R,
    CounterChild
  >;
}

export class CondenserMetrics {
  readonly results: Record<CondenseOutcome, CounterChild>;
  readonly claims: Record<ClaimResult, CounterChild>;

  /** Registers the counters once per registry; a second instance reuses the first's series. */
  constructor(registry: Registry) {
    this.results = resultCounters(
      registry,
      NAME,
      'Over-budget conversations by what the condenser did: condensed (summarised), cache_hit ' +
        '(summary from cache), truncated (oldest messages dropped), rejected (too long, answered 400).',
      CONDENSE_RESULTS,
    );
    this.claims = resultCounters(
      registry,
      CLAIMS,
      'Summaries no cache held, by how replicas settled who makes them: claimed (made here), ' +
        'waited (made by another replica), handed_over (a claim waited on ended without a ' +
        'summary), unshared (no Redis to claim through).',
      CLAIM_RESULTS,
    );
  }
}
