import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/condense/tokens.js';
import { CacheMetrics } from '../../src/cache/metrics.js';
import {
  Condenser,
  CondenserCache,
  ContextLengthError,
  countMessageTokens,
  SUMMARIZER_SYSTEM_PROMPT,
  SUMMARY_PREFIX,
  type ChatMessage,
  type CondenseModelConfig,
} from '../../src/condense/index.js';
import { CONTRACT_TASKS, Supervisor } from '../../src/tasks/index.js';
import { sleep } from '../../src/tasks/timers.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import {
  condenseTotal,
  httpSummarize,
  startSummarizerServer,
  type SummarizerServer,
} from './summarizer-server.js';

beforeAll(loadTokenizer);

const SENTENCE = 'The night train from Lyon reaches Paris before breakfast and costs forty euros. ';
/** About 17 tokens per sentence. */
const para = (label: string, sentences: number): string =>
  `${label}: ${SENTENCE.repeat(sentences)}`;

const SYSTEM: ChatMessage = { role: 'system', content: 'You are a travel assistant.' };
const OLDER: ChatMessage[] = [
  { role: 'user', content: para('day one', 5) },
  { role: 'assistant', content: para('reply one', 5) },
  { role: 'user', content: para('day two', 5) },
  { role: 'assistant', content: para('reply two', 5) },
  { role: 'user', content: para('day three', 5) },
  { role: 'assistant', content: para('reply three', 5) },
];
const RECENT: ChatMessage[] = [
  { role: 'assistant', content: 'Anything else about the trip?' },
  { role: 'user', content: 'Which train should I take?' },
];
const CONVERSATION = [SYSTEM, ...OLDER, ...RECENT];

const config = (over: Partial<CondenseModelConfig> = {}): CondenseModelConfig => ({
  maxTokens: 300,
  keepRecent: 2,
  summarizerModel: 'summarizer-mini',
  onFailure: 'truncate',
  ...over,
});

describe('Condenser', () => {
  let server: SummarizerServer;
  let registry: Registry;
  let supervisor: Supervisor;
  let cache: CondenserCache;

  const condenser = (models: Record<string, CondenseModelConfig>): Condenser =>
    new Condenser({
      models,
      summarize: httpSummarize(server.baseUrl),
      cache,
      registry,
      logger: silentLogger(),
    });
  const live = (): AbortSignal => new AbortController().signal;

  beforeAll(async () => {
    server = await startSummarizerServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.mode = 'ok';
    registry = new Registry();
    supervisor = new Supervisor({ registry, logger: silentLogger(), tasks: CONTRACT_TASKS });
    cache = new CondenserCache({
      scope: supervisor.scope('condenser_cache'),
      metrics: new CacheMetrics(registry),
      logger: silentLogger(),
      keyPrefix: 'test',
      maxEntries: 100,
      ttlSeconds: 60,
    });
  });
  afterEach(async () => {
    await cache.stop(1_000);
    expect(supervisor.liveCount()).toBe(0);
  });

  it('leaves models without a condense config untouched, without reading a message', async () => {
    let reads = 0;
    const watched: ChatMessage = {
      role: 'user',
      get content() {
        reads++;
        return para('huge', 200);
      },
    };
    const messages = [SYSTEM, watched];
    const result = await condenser({ 'gpt-4o': config() }).condense(
      'other-model',
      messages,
      live(),
    );
    expect(result).toEqual({ messages, condensed: false });
    expect(result.messages).toBe(messages);
    expect(reads).toBe(0);
  });

  it('does not treat Object.prototype members as configured models', async () => {
    const result = await condenser({ 'gpt-4o': config() }).condense(
      'constructor',
      CONVERSATION,
      live(),
    );
    expect(result.messages).toBe(CONVERSATION);
  });

  it('passes a conversation within budget through unchanged, without calling the summariser', async () => {
    const messages = [SYSTEM, ...RECENT];
    const result = await condenser({ 'gpt-4o': config() }).condense('gpt-4o', messages, live());
    expect(result.messages).toBe(messages);
    expect(result.condensed).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it('summarises older messages once, then serves the same summary from the cache', async () => {
    expect(countMessageTokens(CONVERSATION)).toBeGreaterThan(300);
    const c = condenser({ 'gpt-4o': config() });

    const first = await c.condense('gpt-4o', CONVERSATION, live());
    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.model).toBe('summarizer-mini');
    expect(sent.messages[0]).toEqual({ role: 'system', content: SUMMARIZER_SYSTEM_PROMPT });
    expect(sent.messages[1]?.content).toContain('user: day one: The night train');
    expect(sent.messages[1]?.content).toContain('assistant: reply three');
    expect(sent.messages[1]?.content).not.toContain('Which train should I take?');
    const summary: ChatMessage = { role: 'system', content: `${SUMMARY_PREFIX}${server.summary}` };
    expect(first).toEqual({
      messages: [SYSTEM, summary, ...RECENT],
      condensed: true,
      cacheHit: false,
    });
    expect(countMessageTokens(first.messages)).toBeLessThanOrEqual(300);
    expect(await condenseTotal(registry, 'condensed')).toBe(1);

    const second = await c.condense('gpt-4o', structuredClone(CONVERSATION), live());
    expect(server.requests).toHaveLength(1);
    expect(second).toEqual({ messages: first.messages, condensed: true, cacheHit: true });
    expect(await condenseTotal(registry, 'cache_hit')).toBe(1);
    expect(await condenseTotal(registry, 'condensed')).toBe(1);
  });

  it('drops the oldest recent messages when the summary plus the recent ones still exceed the budget', async () => {
    const bigRecent: ChatMessage[] = [
      { role: 'user', content: para('big question', 10) },
      { role: 'assistant', content: para('big answer', 10) },
      { role: 'user', content: 'So, which one?' },
    ];
    const messages = [SYSTEM, ...OLDER, ...bigRecent];
    const result = await condenser({ m: config({ keepRecent: 3 }) }).condense(
      'm',
      messages,
      live(),
    );
    expect(result.condensed).toBe(true);
    expect(result.truncatedCount).toBe(1);
    expect(result.messages[1]?.content).toContain(SUMMARY_PREFIX);
    expect(result.messages.slice(2)).toEqual(bigRecent.slice(1));
    expect(countMessageTokens(result.messages)).toBeLessThanOrEqual(300);
    expect(await condenseTotal(registry, 'truncated')).toBe(1);
  });

  it("truncates to the budget when summarising fails and the model's policy is 'truncate'", async () => {
    server.mode = 'fail';
    const result = await condenser({ m: config({ onFailure: 'truncate' }) }).condense(
      'm',
      CONVERSATION,
      live(),
    );
    expect(server.requests).toHaveLength(1);
    expect(result.condensed).toBe(false);
    expect(result.truncatedCount).toBeGreaterThan(0);
    expect(result.messages[0]).toBe(SYSTEM);
    expect(result.messages.slice(-2)).toEqual(RECENT);
    expect(result.messages).toHaveLength(CONVERSATION.length - result.truncatedCount!);
    expect(countMessageTokens(result.messages)).toBeLessThanOrEqual(300);
    expect(await condenseTotal(registry, 'truncated')).toBe(1);
    expect(cache.size).toBe(0);
  });

  it("throws context_length_exceeded when summarising fails and the model's policy is 'error'", async () => {
    server.mode = 'fail';
    const tokens = countMessageTokens(CONVERSATION);
    const err: unknown = await condenser({ m: config({ onFailure: 'error' }) })
      .condense('m', CONVERSATION, live())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextLengthError);
    expect(err).toMatchObject({
      code: 'context_length_exceeded',
      status: 400,
      tokens,
      maxTokens: 300,
    });
    expect((err as Error).message).toContain(`${tokens} tokens`);
    expect((err as Error).message).toContain('budget of 300 tokens');
    expect((err as Error).message).toContain('summarising its earlier messages failed');
    expect(await condenseTotal(registry, 'rejected')).toBe(1);
  });

  it('rejects without calling the summariser when the system prompt and last message alone exceed the budget', async () => {
    const messages: ChatMessage[] = [...OLDER, { role: 'user', content: para('enormous', 30) }];
    const err: unknown = await condenser({ m: config() })
      .condense('m', messages, live())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'context_length_exceeded', why: 'too_long' });
    expect(server.requests).toHaveLength(0);
    expect(await condenseTotal(registry, 'rejected')).toBe(1);
  });

  it('propagates cancellation instead of falling back to truncation', async () => {
    server.mode = 'hang';
    const controller = new AbortController();
    const reason = new Error('client went away');
    const pending = condenser({ m: config({ onFailure: 'truncate' }) }).condense(
      'm',
      CONVERSATION,
      controller.signal,
    );
    await expect.poll(() => server.requests.length).toBe(1);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect.poll(() => server.disconnects).toBe(1);
    expect(await condenseTotal(registry, 'truncated')).toBe(0);
    expect(await condenseTotal(registry, 'rejected')).toBe(0);
  });

  it('asks the summariser once for identical conversations that arrive together', async () => {
    const c = condenser({ 'gpt-4o': config() });
    const results = await Promise.all(
      [1, 2, 3].map(() => c.condense('gpt-4o', structuredClone(CONVERSATION), live())),
    );
    expect(server.requests).toHaveLength(1);
    for (const r of results) expect(r.messages).toEqual(results[0]!.messages);
    expect(results.map((r) => r.cacheHit).sort()).toEqual([false, true, true]);
    expect(await condenseTotal(registry, 'condensed')).toBe(1);
    expect(await condenseTotal(registry, 'cache_hit')).toBe(2);
  });

  it('makes the summary itself when the request it waited on goes away', async () => {
    server.mode = 'hang';
    const c = condenser({ m: config() });
    const first = new AbortController();
    const reason = new Error('client went away');
    const a = c.condense('m', CONVERSATION, first.signal);
    await expect.poll(() => server.requests.length).toBe(1);
    const b = c.condense('m', structuredClone(CONVERSATION), live());
    // b waits on a's summary: nothing more reaches the summariser meanwhile.
    await sleep(100, live());
    expect(server.requests).toHaveLength(1);
    server.mode = 'ok';
    first.abort(reason);
    await expect(a).rejects.toBe(reason);
    const result = await b;
    expect(server.requests).toHaveLength(2);
    expect(result).toMatchObject({ condensed: true, cacheHit: false });
    expect(await condenseTotal(registry, 'condensed')).toBe(1);
  });

  it('shares a failed summary with the requests waiting on it, each following its policy', async () => {
    server.mode = 'fail';
    const c = condenser({ m: config({ onFailure: 'truncate' }) });
    const results = await Promise.all(
      [1, 2].map(() => c.condense('m', structuredClone(CONVERSATION), live())),
    );
    expect(server.requests).toHaveLength(1);
    for (const r of results) expect(r.truncatedCount).toBeGreaterThan(0);
    expect(await condenseTotal(registry, 'truncated')).toBe(2);
  });

  it('pre-initialises all four results and registers its counter once per registry', async () => {
    condenser({ m: config() });
    condenser({ m: config() });
    for (const result of ['condensed', 'cache_hit', 'truncated', 'rejected']) {
      expect(await condenseTotal(registry, result)).toBe(0);
    }
  });
});
