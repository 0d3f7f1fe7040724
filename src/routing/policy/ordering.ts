/**
 * Which providers a request for a model tries, and in what order. Pure: the caller snapshots
 * each provider's health and breaker state into a `CandidateInfo` first.
 *
 * The rule, in full:
 * 1. Candidates are the enabled providers whose `models` list the requested model.
 * 2. A candidate is *usable* unless its health is `unhealthy`, its breaker is `open` or it
 *    is cooling down after a rate limit. When at least one candidate is usable, the
 *    unusable ones are dropped. When none is, all are kept, so a model never has zero
 *    candidates while some provider might still answer (health checks lag, and a breaker
 *    past `openMs` turns half-open when asked); the attempt itself then refuses an open
 *    breaker or a cooldown without sending anything.
 * 3. Order: open breakers and cooldowns last (asking one is refused until it ends, while an
 *    unhealthy provider can at least be tried); then health tier (healthy and unknown,
 *    then degraded, then unhealthy); then `priority` (lower first); then config order.
 *    A half-open breaker is usable and not demoted: its trial is how it recovers.
 */

export type ProviderHealth = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';
export type CandidateBreakerState = 'closed' | 'open' | 'half_open';

export interface CandidateInfo {
  name: string;
  /** Lower is tried first. */
  priority: number;
  models: readonly string[];
  enabled: boolean;
  health: ProviderHealth;
  breaker: CandidateBreakerState;
  /** Rate limited with a Retry-After that has not passed yet (see cooldown.ts). Default false. */
  coolingDown?: boolean;
}

const HEALTH_TIER: Record<ProviderHealth, number> = {
  healthy: 0,
  unknown: 0, // not yet probed: as good as healthy until a probe says otherwise
  degraded: 1,
  unhealthy: 2,
};

/** Asking it is refused until its breaker's `openMs` or its cooldown has passed. */
function isRefused(candidate: CandidateInfo): boolean {
  return candidate.breaker === 'open' || candidate.coolingDown === true;
}

function isUsable(candidate: CandidateInfo): boolean {
  return candidate.health !== 'unhealthy' && !isRefused(candidate);
}

/**
 * The providers to try for `model`, best first (see the module comment for the rule).
 * Generic so callers can carry their own fields (an adapter, a breaker) through the sort.
 * Returns a new array; empty only when no enabled provider serves the model.
 */
export function orderCandidates<T extends CandidateInfo>(input: {
  model: string;
  providers: readonly T[];
}): T[] {
  const serving = input.providers.filter((p) => p.enabled && p.models.includes(input.model));
  const usable = serving.filter(isUsable);
  const pool = usable.length > 0 ? usable : serving;
  // Array.prototype.sort is stable, so ties keep config order.
  return pool.sort(
    (a, b) =>
      Number(isRefused(a)) - Number(isRefused(b)) ||
      HEALTH_TIER[a.health] - HEALTH_TIER[b.health] ||
      a.priority - b.priority,
  );
}

/**
 * Every model id an enabled provider serves, once each, in order of first appearance in
 * config order; for GET /v1/models. A provider without `enabled` counts as enabled, so
 * config entries can be passed as they are. Health is ignored: being down is transient.
 */
export function modelsServed(
  providers: readonly { models: readonly string[]; enabled?: boolean }[],
): string[] {
  const models = new Set<string>();
  for (const provider of providers) {
    if (provider.enabled === false) continue;
    for (const model of provider.models) models.add(model);
  }
  return [...models];
}
