/**
 * The summariser, from config: which model summarises each condensed model's older turns, what
 * it is asked, and how its answer is read. How the question reaches a provider (the fallback
 * engine, in the request's task) is the caller's `ask`, so condense/ never imports routing/.
 */
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { CacheMetrics } from '../cache/metrics.js';
import type { CondenseConfig } from '../config/index.js';
import type { Supervisor } from '../tasks/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { ChatCompletionRequest } from '../upstream/openai-types.js';
import { Condenser, type CondenseModelConfig, type Summarize } from './condenser.js';
import { CondenserCache } from './condenser-cache.js';

/**
 * Asks `request.model` for a chat completion on behalf of the request in `context` (what the
 * proxy passed to condense(): the request's task) and resolves with the answer's JSON text.
 */
export type AskSummarizer = (request: ChatCompletionRequest, context: unknown) => Promise<string>;

export interface CondensationOptions {
  config: CondenseConfig;
  ask: AskSummarizer;
  /** Opens the summary cache's scope (only when some model is condensed). */
  supervisor: Pick<Supervisor, 'scope'>;
  metrics: CacheMetrics;
  registry: Registry;
  logger: Logger;
  redis: Redis | undefined;
  keyPrefix: string;
}

/** The condenser and the summary cache it owns; undefined when no model is condensed. */
export interface Condensation {
  condenser: Condenser;
  cache: CondenserCache;
}

export function createCondensation(o: CondensationOptions): Condensation | undefined {
  const models = condensedModels(o.config);
  if (Object.keys(models).length === 0) return undefined;
  const cache = new CondenserCache({
    scope: o.supervisor.scope('condenser_cache'),
    metrics: o.metrics,
    logger: o.logger,
    redis: o.redis,
    keyPrefix: o.keyPrefix,
    maxEntries: o.config.cacheMaxEntries,
    ttlSeconds: o.config.cacheTtlSeconds,
    claimMs: o.config.summaryClaimMs,
  });
  const condenser = new Condenser({
    models,
    cache,
    registry: o.registry,
    logger: o.logger,
    summarize: summarizeBy(o.ask),
  });
  return { condenser, cache };
}

/** Each condensed model's settings, with the section-wide keepRecent and summariser filled in. */
export function condensedModels(config: CondenseConfig): Record<string, CondenseModelConfig> {
  return Object.fromEntries(
    Object.entries(config.models).map(([model, m]) => [
      model,
      {
        maxTokens: m.maxTokens,
        keepRecent: m.keepRecent ?? config.keepRecent,
        // The config's cross-checks refuse a condensed model with no summariser at either level.
        summarizerModel: (m.summarizerModel ?? config.summarizerModel)!,
        onFailure: m.onFailure,
      },
    ]),
  );
}

/** Summarises by asking the summariser model, deterministically, for a completion. */
export function summarizeBy(ask: AskSummarizer): Summarize {
  return async ({ model, messages }, _signal, context) =>
    summaryText(await ask({ model, messages, temperature: 0 }, context));
}

/** The summary in a chat completion's JSON: its first choice's text. */
export function summaryText(body: string): string {
  const text = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] })
    .choices?.[0]?.message?.content;
  if (typeof text !== 'string') throw new Error('the summariser answered without text');
  return text;
}
