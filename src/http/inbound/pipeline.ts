/**
 * The request pipeline every inbound API shares. A request is one value (ProxyCall) that
 * goes one way through small stages, inside its `http/request` task:
 *
 *   parse -> fromCache -> condense -> route (winner consumed by the API's responder inside
 *   its attempt's task) -> settle (usage, span, store)
 *
 * An API brings only its parser and responder (api.ts). Routing failures come back typed
 * (RoutingFailure) and are answered by proxy-request.ts, the one place that maps them.
 */
import {
  cacheDecision,
  responseCacheKey,
  type CacheableKind,
  type UnifiedCache,
} from '../../cache/index.js';
import type { Condenser } from '../../condense/index.js';
import { ContextLengthError } from '../../condense/index.js';
import type { FallbackEngine, Win } from '../../routing/engine.js';
import type { TaskContext } from '../../tasks/index.js';
import type { ProxyMetrics } from '../../telemetry/proxy-metrics.js';
import type { CaptureOptions, ChatAnswer } from '../../upstream/index.js';
import type { Usage } from '../../upstream/openai-types.js';
import { merged } from '../../objects.js';
import { parseJsonObject } from '../body.js';
import { ProxyError, errors } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { ProxyHandler } from '../proxy-request.js';
import { genAiRequest, genAiResponse } from '../request-span.js';
import type { InboundApi, ProxyCall } from './api.js';

export interface PipelineDeps {
  engine: FallbackEngine;
  metrics: ProxyMetrics;
  cache: UnifiedCache | undefined;
  cacheNonDeterministic: boolean;
  /** cache.scope: `key` keeps each client key's entries apart; `shared` pools them. */
  cacheScope: 'key' | 'shared';
  condenser: Condenser | undefined;
}

/** The pipeline's fixed parts for one API: built once, shared by all its requests. */
interface Stages<Req, A extends ChatAnswer> {
  readonly deps: PipelineDeps;
  readonly api: InboundApi<Req, A>;
  /** The capture bound of a stream that may be stored (the cache's entry bound). */
  readonly capture: CaptureOptions | undefined;
  readonly consume: (win: Win<A>, call: ProxyCall<Req>) => Promise<A>;
}

/** The request task's handler for one inbound API. */
export function inboundHandler<Req, A extends ChatAnswer>(
  deps: PipelineDeps,
  api: InboundApi<Req, A>,
): ProxyHandler {
  const stages: Stages<Req, A> = {
    deps,
    api,
    capture: deps.cache === undefined ? undefined : { maxBytes: deps.cache.maxEntryBytes },
    consume: (win, call) => consume(api, win, call),
  };
  return async function handle(ctx: TaskContext, ex: Exchange): Promise<void> {
    const call = parse(stages, ctx, ex);
    const { unserved } = api;
    if (unserved !== undefined && !deps.engine.serves(call.model, call.eligible)) {
      return unserved(call);
    }
    // NOTE: the stages a config leaves out are not called: each is an async function, and
    // awaiting one that does nothing still costs a promise and a microtask per request.
    const { cache, condenser } = deps;
    if (cache !== undefined && api.cacheKind !== undefined) {
      if (await fromCache(stages, cache, api.cacheKind, call)) return;
    }
    if (condenser !== undefined) await condense(api, condenser, call);
    if (api.prepare !== undefined) await api.prepare(call);
    call.routeStart = performance.now();
    const routed = await stages.deps.engine.run(
      ctx,
      call.model,
      call,
      api.send,
      stages.consume,
      call.eligible,
    );
    settle(stages, call, routed.provider, routed.result);
  };
}

/** Validates the body (400 with what to fix) and checks that a provider serves its model. */
function parse<Req, A extends ChatAnswer>(
  { deps, api }: Stages<Req, A>,
  ctx: TaskContext,
  ex: Exchange,
): ProxyCall<Req> {
  const { value: raw, text } = parseJsonObject(ex.body, ex.req.headers['content-type']);
  const request = api.parse(raw);
  const model = api.model(request);
  if (!deps.engine.serves(model)) throw errors.unknownModel(model);
  const eligible = api.eligibleFor?.(request) ?? api.eligible;
  if (
    eligible !== undefined &&
    api.unserved === undefined &&
    !deps.engine.serves(model, eligible.test)
  )
    throw errors.apiNotServed(model, eligible.route, eligible.refusal, eligible.param);
  genAiRequest(ex.span, api.operation, api.spanFields(request));
  return {
    ctx,
    ex,
    raw,
    text,
    request,
    model,
    stream: api.streams(request),
    eligible: eligible?.test,
    headers: { 'x-llm-proxy-cache': 'bypass' },
    bodyText: text,
    key: undefined,
    capture: undefined,
    routeStart: 0,
    relayed: false,
  };
}

/**
 * Looks the call up in the response cache when the client and config allow it (setting the
 * key the answer will be stored under); true once a cached answer has been served.
 */
async function fromCache<Req, A extends ChatAnswer>(
  { deps, api, capture }: Stages<Req, A>,
  cache: UnifiedCache,
  kind: CacheableKind,
  call: ProxyCall<Req>,
): Promise<boolean> {
  const { ex } = call;
  const cc = ex.req.headers['cache-control'];
  const optIn = ex.req.headers['x-llm-proxy-cache'];
  // Set field by field, not spread from literals: no temporary objects per request.
  const asked: { cacheControl?: string; optIn?: string } = {};
  if (typeof cc === 'string') asked.cacheControl = cc;
  if (typeof optIn === 'string') asked.optIn = optIn;
  const decision = cacheDecision({
    body: call.raw,
    headers: asked,
    cacheNonDeterministic: deps.cacheNonDeterministic,
    kind,
  });
  call.headers['x-llm-proxy-cache'] = decision === 'lookup' ? 'miss' : 'bypass';
  if (decision !== 'lookup') return false;
  const scope = deps.cacheScope === 'shared' ? undefined : ex.clientScope;
  call.key = responseCacheKey(kind, call.raw, { text: call.text, scope });
  if (call.stream) call.capture = capture;
  const hit = await cache.get(call.key);
  // An entry that cannot be replayed in this shape (stored before answers were checked)
  // is answered from upstream, whose answer then replaces it.
  if (hit === undefined || call.ctx.cancelled) return false;
  const headers = merged(call.headers, {
    'x-llm-proxy-cache': 'hit',
    'x-llm-proxy-provider': hit.answer.provider,
  });
  return api.respond.replay(call, hit.answer, headers);
}

/** Condenses the messages when the model is configured for it; 400 when they cannot fit. */
async function condense<Req, A extends ChatAnswer>(
  api: InboundApi<Req, A>,
  condenser: Condenser,
  call: ProxyCall<Req>,
): Promise<void> {
  const chat = api.condensable(call.request);
  if (chat === undefined) return;
  const { headers, ctx } = call;
  try {
    const result = await condenser.condense(chat.model, chat.messages, ctx.signal, ctx);
    if (result.messages !== chat.messages) {
      chat.messages = result.messages;
      call.bodyText = undefined;
    }
    if (result.condensed) headers['x-llm-proxy-condensed'] = 'true';
    if (result.truncatedCount !== undefined)
      headers['x-llm-proxy-truncated'] = String(result.truncatedCount);
  } catch (err) {
    if (err instanceof ContextLengthError) {
      throw new ProxyError(400, err.message, {
        code: 'context_length_exceeded',
        param: 'messages',
      });
    }
    throw err;
  }
}

/**
 * The winner's answer, consumed inside its attempt's task: the time until it came counts as
 * upstream time; the responder writes it the client's way.
 */
function consume<Req, A extends ChatAnswer>(
  api: InboundApi<Req, A>,
  win: Win<A>,
  call: ProxyCall<Req>,
): Promise<A> {
  const { ex } = call;
  ex.upstreamMs += performance.now() - call.routeStart;
  ex.provider = win.provider;
  call.headers['x-llm-proxy-provider'] = win.provider;
  const answer: ChatAnswer = win.answer;
  if (answer.kind === 'json') {
    api.respond.json(call, win.provider, answer);
    return Promise.resolve(win.answer);
  }
  return api.respond.stream(call, win.provider, answer).then((whole) => {
    call.relayed = whole;
    return win.answer;
  });
}

/** After the winner's attempt ended: counts usage, finishes the span, stores the answer. */
function settle<Req, A extends ChatAnswer>(
  { deps, api }: Stages<Req, A>,
  call: ProxyCall<Req>,
  provider: string,
  answer: A,
): void {
  const { cache } = deps;
  if (answer.kind === 'json') {
    recordUsage(deps.metrics, provider, answer.usage);
    genAiResponse(call.ex.span, deps.engine.provider(provider), call.model, answer.usage);
    // Only what can be replayed: a malformed answer is passed on once, never served from
    // the cache as an error for the entry's whole lifetime.
    if (call.key !== undefined)
      cache?.set(call.key, { provider, body: answer.body, storedAt: Date.now() }, api.admit);
    return;
  }
  if (call.relayed) recordUsage(deps.metrics, provider, answer.stats.usage);
  genAiResponse(call.ex.span, deps.engine.provider(provider), call.model, answer.stats.usage);
  // Stored when it ended whole and fit the entry bound (else the skip is counted).
  const captured = answer.stats.captured;
  if (call.key === undefined || !answer.stats.done || captured === undefined) return;
  if (captured.payloads === undefined) cache?.skip('too_large');
  else
    cache?.set(call.key, { provider, chunks: captured.payloads, storedAt: Date.now() }, api.admit);
}

export function recordUsage(
  metrics: ProxyMetrics,
  provider: string,
  usage: Usage | undefined,
): void {
  if (usage == null) return;
  const m = metrics.provider(provider);
  // Counted only when the provider's numbers are numbers: its answer is not trusted input.
  if (isCount(usage.prompt_tokens)) m.tokensIn.inc(usage.prompt_tokens);
  if (isCount(usage.completion_tokens)) m.tokensOut.inc(usage.completion_tokens);
}

const isCount = (n: unknown): n is number => typeof n === 'number' && n > 0 && Number.isFinite(n);
