/**
 * Context condensation, opt-in per model: a conversation over its model's token budget goes
 * upstream as its system prompt(s), one system message summarising the older turns, and the
 * recent turns verbatim. Summaries come from a summariser model through `summarize` (the
 * app wires it to the fallback engine) and are cached, shared across replicas, by content.
 *
 * Cost on the hot path: a model without a condense config costs one Map lookup; a request
 * under budget is usually settled by a byte-length bound without running the tokenizer.
 * Otherwise the tokenizer runs in slices that give the event loop back (tokens.ts), and
 * stops when the request is cancelled.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { summaryCacheKey } from './cache-key.js';
import type { CondenserCache } from './condenser-cache.js';
import { ContextLengthError, type ContextLengthCause } from './errors.js';
import { CondenserMetrics, type CondenseOutcome } from './metrics.js';
import { planCondensation, truncateToBudget } from './policy.js';
import { summarizerMessages, summaryMessage } from './prompt.js';
import { createTokenCounter, loadTokenizer, tokenUpperBound } from './tokens.js';
import type { ChatMessage, TokenCount } from './types.js';
import { untilAborted } from '../cache/until-aborted.js';
import { sleep } from '../tasks/timers.js';

/** A summary, and whether this request got it without asking the summariser. */
interface Summary {
  text: string;
  cacheHit: boolean;
}

/** Polls for a summary another replica is making: 50, 100, 200, 400, then every 500 ms. */
const CLAIM_POLL_FIRST_MS = 50;
const CLAIM_POLL_MAX_MS = 500;

export interface CondenseModelConfig {
  /** Prompt tokens this model may be sent. */
  maxTokens: number;
  /** Latest non-system messages kept verbatim (whole tool-call turns, so maybe a few more). */
  keepRecent: number;
  summarizerModel: string;
  /** When summarising fails: drop the oldest turns instead, or answer 400. */
  onFailure: 'truncate' | 'error';
}

/**
 * Produces a summary. `context` is whatever the caller passed to condense() (the proxy
 * passes the request's task, so the summariser's attempts run in the request's scope).
 */
export type Summarize = (
  input: { model: string; messages: ChatMessage[] },
  signal: AbortSignal,
  context?: unknown,
) => Promise<string>;

export interface CondenserOptions {
  models: Readonly<Record<string, CondenseModelConfig>>;
  summarize: Summarize;
  cache: CondenserCache;
  registry: Registry;
  logger?: Logger;
}

export interface CondenseResult {
  /** The input array itself when nothing changed. */
  messages: ChatMessage[];
  /** True when a summary replaced older messages. */
  condensed: boolean;
  /** Messages dropped to fit the budget (the caller reports it in a response header). */
  truncatedCount?: number;
  /** True when the summary came from the cache. */
  cacheHit?: boolean;
}

export class Condenser {
  private readonly models: ReadonlyMap<string, CondenseModelConfig>;
  private readonly summarize: Summarize;
  private readonly cache: CondenserCache;
  private readonly metrics: CondenserMetrics;
  private readonly logger: Logger | undefined;
  /**
   * Summaries being made (or awaited from another replica), by cache key, with the signal of
   * the request doing it: an identical conversation arriving meanwhile waits for that summary
   * instead of asking the summariser again. Across replicas, the cache's claims do the same.
   */
  private readonly inflight = new Map<string, { summary: Promise<Summary>; owner: AbortSignal }>();

  constructor({ models, summarize, cache, registry, logger }: CondenserOptions) {
    // A Map, so a model named like an Object.prototype member is not "configured".
    this.models = new Map(Object.entries(models));
    this.summarize = summarize;
    this.cache = cache;
    this.metrics = new CondenserMetrics(registry);
    this.logger = logger;
  }

  /**
   * Fits `messages` into `model`'s budget. Throws ContextLengthError when it can't (the
   * caller answers 400), and the signal's reason when the request is cancelled meanwhile.
   */
  async condense(
    model: string,
    messages: ChatMessage[],
    signal: AbortSignal,
    context?: unknown,
  ): Promise<CondenseResult> {
    const config = this.models.get(model);
    if (config === undefined || tokenUpperBound(messages) <= config.maxTokens) {
      return { messages, condensed: false };
    }
    await loadTokenizer();
    const counter = createTokenCounter();
    // Encoded in slices that give the event loop back; rejects once the request is cancelled.
    await counter.measure(messages, signal);
    const count = counter.count;
    const plan = planCondensation(messages, config, count);
    if (plan.action === 'none') return { messages, condensed: false };
    if (plan.action === 'too_long') throw this.reject(plan.tokens, config, 'too_long');

    signal.throwIfAborted();
    let summary: { text: string; cacheHit: boolean };
    try {
      summary = await this.summary(config.summarizerModel, plan.older, signal, context);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      this.logger?.warn(
        { err, model, summarizerModel: config.summarizerModel },
        'condenser: summarising failed',
      );
      if (config.onFailure === 'error')
        throw this.reject(plan.tokens, config, 'summarization_failed', err);
      return this.truncate(messages, config, count);
    }
    const summarised = summaryMessage(summary.text);
    await counter.measure([summarised], signal);
    const condensed = [...plan.system, summarised, ...plan.recent];
    if (count(condensed) <= config.maxTokens) {
      this.record(summary.cacheHit ? 'cache_hit' : 'condensed');
      return { messages: condensed, condensed: true, cacheHit: summary.cacheHit };
    }
    // The summary plus the recent turns are still too long: drop recent turns, oldest first.
    const cut = truncateToBudget(condensed, config.maxTokens, count);
    if (cut.fits) {
      this.record('truncated');
      return {
        messages: cut.messages,
        condensed: true,
        truncatedCount: cut.dropped,
        cacheHit: summary.cacheHit,
      };
    }
    // Not even the summary and the latest turn fit: fall back to the conversation without it.
    return this.truncate(messages, config, count);
  }

  private async summary(
    summarizerModel: string,
    older: readonly ChatMessage[],
    signal: AbortSignal,
    context: unknown,
  ): Promise<Summary> {
    const key = summaryCacheKey(summarizerModel, older);
    for (;;) {
      const cached = await this.cache.get(key);
      if (cached !== undefined) return { text: cached, cacheHit: true };
      const pending = this.inflight.get(key);
      if (pending === undefined) break;
      try {
        // Made by another request: counted as a cache hit, since this one asked nobody.
        return { text: (await untilAborted(pending.summary, signal)).text, cacheHit: true };
      } catch (err) {
        if (signal.aborted || !pending.owner.aborted) throw err;
        // Its request went away and took the summary with it: make it here instead.
        if (this.inflight.get(key) === pending) this.inflight.delete(key);
      }
    }
    const summary = this.obtain(summarizerModel, older, signal, context, key);
    const entry = { summary, owner: signal };
    this.inflight.set(key, entry);
    try {
      return await summary;
    } finally {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    }
  }

  /**
   * A summary no cache holds: made here, unless another replica has claimed it, in which case
   * it is awaited from Redis; if that replica gives up (or its claim expires), claimed again.
   */
  private async obtain(
    summarizerModel: string,
    older: readonly ChatMessage[],
    signal: AbortSignal,
    context: unknown,
    key: string,
  ): Promise<Summary> {
    const claims = this.metrics.claims;
    for (;;) {
      const claim = await this.cache.claim(key, signal);
      if (claim.kind === 'theirs') {
        const text = await this.awaitClaimed(key, signal);
        // Made by another replica: a cache hit, as for a request waiting in this one.
        if (text !== undefined) {
          claims.waited.inc();
          return { text, cacheHit: true };
        }
        claims.handed_over.inc();
        continue;
      }
      claims[claim.kind === 'mine' ? 'claimed' : 'unshared'].inc();
      const token = claim.kind === 'mine' ? claim.token : undefined;
      let text: string;
      try {
        text = await this.summarizeNew(summarizerModel, older, signal, context);
      } catch (err) {
        // Handed on at once, rather than leaving the others to wait out the claim.
        if (token !== undefined) await this.cache.release(key, token);
        throw err;
      }
      // The persist task releases the claim once the summary is in Redis (or failed to be).
      if (!this.cache.set(key, text, token) && token !== undefined) {
        await this.cache.release(key, token);
      }
      return { text, cacheHit: false };
    }
  }

  /**
   * Polls for a summary another replica claimed: quickly at first, then every
   * CLAIM_POLL_MAX_MS. Undefined once the claim ended without one. Its holder renews it only
   * while making the summary (bounded by that request's deadline), so the claim lapses soon
   * after the holder dies; the request's signal ends the wait sooner.
   */
  private async awaitClaimed(key: string, signal: AbortSignal): Promise<string | undefined> {
    for (let delay = CLAIM_POLL_FIRST_MS; ; delay = Math.min(2 * delay, CLAIM_POLL_MAX_MS)) {
      if (!(await sleep(delay, signal))) throw signal.reason;
      const polled = await this.cache.pollClaimed(key, signal);
      if (polled === 'gone') return undefined;
      if (polled !== 'waiting') return polled.summary;
    }
  }

  private async summarizeNew(
    summarizerModel: string,
    older: readonly ChatMessage[],
    signal: AbortSignal,
    context: unknown,
  ): Promise<string> {
    const text = (
      await this.summarize(
        { model: summarizerModel, messages: summarizerMessages(older) },
        signal,
        context,
      )
    ).trim();
    if (text === '') throw new Error('the summariser returned an empty summary');
    return text;
  }

  private truncate(
    messages: ChatMessage[],
    config: CondenseModelConfig,
    count: TokenCount,
  ): CondenseResult {
    const cut = truncateToBudget(messages, config.maxTokens, count);
    // planCondensation has checked that the system prompt and the tail fit, so this is a guard.
    if (!cut.fits) throw this.reject(cut.tokens, config, 'too_long');
    this.record('truncated');
    return { messages: cut.messages, condensed: false, truncatedCount: cut.dropped };
  }

  private reject(
    tokens: number,
    config: CondenseModelConfig,
    why: ContextLengthCause,
    cause?: unknown,
  ): ContextLengthError {
    this.record('rejected');
    return new ContextLengthError(
      tokens,
      config.maxTokens,
      why,
      cause === undefined ? undefined : { cause },
    );
  }

  private record(outcome: CondenseOutcome): void {
    this.metrics.results[outcome].inc();
  }
}
