/**
 * POST /v1/chat/completions: validate, answer from cache when allowed, condense when the
 * model is configured for it, run the fallback engine, and relay the winner's answer (JSON,
 * or SSE frames written as they arrive). Every step runs inside the request's task.
 */
import {
  cacheDecision,
  responseCacheKey,
  type CachedAnswer,
  type UnifiedCache,
} from '../../cache/index.js';
import { replayAs, replayable } from '../../cache/replay.js';
import type { Condenser } from '../../condense/index.js';
import { ContextLengthError } from '../../condense/index.js';
import { SSE_DONE } from '../../providers/index.js';
import {
  UpstreamError,
  type ChatAnswer,
  type JsonAnswer,
  type Provider,
  type StreamAnswer,
} from '../../upstream/index.js';
import type { ChatCompletionRequest, Usage } from '../../upstream/openai-types.js';
import type { FallbackEngine, Win } from '../../routing/engine.js';
import type { TaskContext } from '../../tasks/index.js';
import type { ProxyMetrics } from '../../telemetry/proxy-metrics.js';
import { parseJsonObject } from '../body.js';
import { ProxyError, errors } from '../errors.js';
import type { RequestIO } from '../proxy-request.js';
import { endSseWithError, sendJson, startSse, writeFrame, type ExtraHeaders } from '../respond.js';
import { genAiRequest, genAiResponse } from '../request-span.js';
import { parseChatRequest } from '../validate.js';
import { merged } from '../../objects.js';

export interface ChatDeps {
  engine: FallbackEngine;
  metrics: ProxyMetrics;
  cache: UnifiedCache | undefined;
  cacheNonDeterministic: boolean;
  /** cache.scope: `key` keeps each client key's entries apart; `shared` pools them. */
  cacheScope: 'key' | 'shared';
  condenser: Condenser | undefined;
}

/** The scope a request's cache entries live in: none (one for all) when config shares them. */
export const cacheScope = (deps: ChatDeps, io: RequestIO): string | undefined =>
  deps.cacheScope === 'shared' ? undefined : io.clientScope;

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

/** One chat call as it goes through the handler's steps. */
interface ChatCall {
  /** The body as parsed JSON (what the cache decision and key read). */
  readonly raw: Record<string, unknown>;
  /** The body's text as the client sent it (the cache key reads it). */
  readonly text: string;
  readonly body: ChatCompletionRequest;
  readonly stream: boolean;
  /** The x-llm-proxy-* headers of the answer, filled in step by step. */
  readonly headers: ExtraHeaders;
  /**
   * Forwarded as the client wrote it while the proxy changes nothing: re-serialising would
   * cost CPU and round numbers past 2^53 (a uint64 bound in a tool schema, a 64-bit seed).
   */
  bodyText: string | undefined;
  /** The response cache key, when the answer may be stored. */
  key: string | undefined;
}

export function chatHandler(deps: ChatDeps) {
  return async function chat(ctx: TaskContext, io: RequestIO): Promise<void> {
    const call = parseCall(deps, io);
    if (await answerFromCache(deps, ctx, io, call)) return;
    await condense(deps, ctx, call);
    const win = await route(deps, ctx, io, call);
    const answer = win.answer;
    if (answer.kind === 'json') {
      await answerJson(deps, io, call, win, answer);
      return;
    }
    await relay(ctx, io, win as Win<StreamAnswer>, answer, call.headers, deps.metrics);
    genAiResponse(io.span, deps.engine.provider(win.provider), call.body.model, answer.stats.usage);
    storeStream(deps, call, win.provider, answer);
  };
}

/** Validates the body (400 with what to fix) and checks that a provider serves its model. */
function parseCall(deps: ChatDeps, io: RequestIO): ChatCall {
  const { value: raw, text } = parseJsonObject(io.body, io.req.headers['content-type']);
  const body = parseChatRequest(raw);
  if (!deps.engine.serves(body.model)) throw errors.unknownModel(body.model);
  genAiRequest(io.span, 'chat', body);
  return {
    raw,
    text,
    body,
    stream: body.stream === true,
    headers: { 'x-llm-proxy-cache': 'bypass' },
    bodyText: text,
    key: undefined,
  };
}

/**
 * Looks the call up in the response cache when the client and config allow it (setting the
 * key the answer will be stored under); true once a cached answer has been served.
 */
async function answerFromCache(
  deps: ChatDeps,
  ctx: TaskContext,
  io: RequestIO,
  call: ChatCall,
): Promise<boolean> {
  if (deps.cache === undefined) return false;
  const cc = io.req.headers['cache-control'];
  const optIn = io.req.headers['x-llm-proxy-cache'];
  const decision = cacheDecision({
    body: call.raw,
    headers: {
      ...(typeof cc === 'string' ? { cacheControl: cc } : {}),
      ...(typeof optIn === 'string' ? { optIn } : {}),
    },
    cacheNonDeterministic: deps.cacheNonDeterministic,
    kind: 'chat',
  });
  call.headers['x-llm-proxy-cache'] = decision === 'lookup' ? 'miss' : 'bypass';
  if (decision !== 'lookup') return false;
  call.key = responseCacheKey('chat', call.raw, { text: call.text, scope: cacheScope(deps, io) });
  const hit = await deps.cache.get(call.key);
  // An entry that cannot be replayed in this shape (stored before answers were checked)
  // is answered from upstream, whose answer then replaces it.
  return (
    hit !== undefined &&
    !ctx.cancelled &&
    (await replay(
      io,
      hit.answer,
      call.stream,
      call.body,
      merged(call.headers, { 'x-llm-proxy-cache': 'hit' }),
    ))
  );
}

/** Condenses the messages when the model is configured for it; 400 when they cannot fit. */
async function condense(deps: ChatDeps, ctx: TaskContext, call: ChatCall): Promise<void> {
  if (deps.condenser === undefined) return;
  const { body, headers } = call;
  try {
    const result = await deps.condenser.condense(body.model, body.messages, ctx.signal, ctx);
    if (result.messages !== body.messages) {
      body.messages = result.messages;
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

/** Runs the fallback engine for the call; the time spent waiting counts as upstream time. */
async function route(
  deps: ChatDeps,
  ctx: TaskContext,
  io: RequestIO,
  call: ChatCall,
): Promise<Win<ChatAnswer>> {
  const { body, bodyText } = call;
  // Held to the cache's entry bound: past it the stream is relayed whole but not kept.
  const capture =
    call.key !== undefined && call.stream && deps.cache !== undefined
      ? { maxBytes: deps.cache.maxEntryBytes }
      : undefined;
  const waitStart = performance.now();
  const win = await deps.engine.run<ChatAnswer>(
    ctx,
    body.model,
    (p: Provider, signal, otelContext) => p.chat(body, { signal, otelContext, capture, bodyText }),
  );
  io.upstreamMs += performance.now() - waitStart;
  call.headers['x-llm-proxy-provider'] = win.provider;
  io.provider = win.provider;
  return win;
}

/** Sends a JSON answer, ends the winner's attempt, counts its usage and stores it. */
async function answerJson(
  deps: ChatDeps,
  io: RequestIO,
  call: ChatCall,
  win: Win<ChatAnswer>,
  answer: JsonAnswer,
): Promise<void> {
  sendJson(io.res, 200, answer.body, call.headers);
  await win.release();
  recordUsage(deps.metrics, win.provider, answer.usage);
  genAiResponse(io.span, deps.engine.provider(win.provider), call.body.model, answer.usage);
  // Only what can be replayed in both shapes: a malformed answer is passed on once, never
  // served from the cache as an error for the entry's whole lifetime.
  if (call.key !== undefined)
    deps.cache?.set(
      call.key,
      { provider: win.provider, body: answer.body, storedAt: Date.now() },
      replayable,
    );
}

/** Stores a relayed stream that ended whole and fit the entry bound (else counts the skip). */
function storeStream(deps: ChatDeps, call: ChatCall, provider: string, answer: StreamAnswer): void {
  const captured = answer.stats.captured;
  if (call.key === undefined || !answer.stats.done || captured === undefined) return;
  if (captured.payloads === undefined) deps.cache?.skip('too_large');
  else
    deps.cache?.set(
      call.key,
      { provider, chunks: captured.payloads, storedAt: Date.now() },
      replayable,
    );
}

/** Relays a winning stream frame by frame; the winner's attempt holds the upstream until then. */
async function relay(
  ctx: TaskContext,
  io: RequestIO,
  win: Win<StreamAnswer>,
  answer: StreamAnswer,
  headers: ExtraHeaders,
  metrics: ProxyMetrics,
): Promise<void> {
  const { res } = io;
  try {
    startSse(res, headers);
    const first = writeFrame(res, answer.first);
    if (first !== true && !(await first)) return;
    for (;;) {
      const waited = performance.now();
      let next: IteratorResult<string | Uint8Array>;
      try {
        next = await answer.rest.next();
      } catch (err) {
        io.upstreamMs += performance.now() - waited;
        // Cut off by the request's deadline or by shutdown, not by the provider: the request
        // task's end says which (see unanswered() in proxy-request.ts).
        if (ctx.cancelled) return;
        // An UpstreamError's message is a status line of ours ("stream error
        // (overloaded_error)", "invalid SSE event"), never the provider's text: safe to show.
        const why = err instanceof UpstreamError ? `: ${err.message}` : '';
        endSseWithError(
          res,
          new ProxyError(502, `The stream from provider ${win.provider} broke off${why}.`, {
            code: 'upstream_stream_error',
          }),
        );
        return;
      }
      io.upstreamMs += performance.now() - waited;
      if (next.done === true) break;
      const written = writeFrame(res, next.value);
      if (written !== true && !(await written)) return;
    }
    if (answer.stats.done) {
      res.end();
    } else {
      endSseWithError(
        res,
        new ProxyError(502, `The stream from provider ${win.provider} ended early.`, {
          code: 'upstream_stream_truncated',
        }),
      );
    }
    recordUsage(metrics, win.provider, answer.stats.usage);
  } finally {
    await win.release();
  }
}

/** Serves a cached answer; false, with nothing written, when it cannot take this shape. */
async function replay(
  io: RequestIO,
  cached: CachedAnswer,
  stream: boolean,
  body: ChatCompletionRequest,
  headers: ExtraHeaders,
): Promise<boolean> {
  const includeUsage = body.stream_options?.include_usage === true;
  const shaped = replayAs(cached, { stream, includeUsage });
  if (shaped === undefined) return false;
  headers['x-llm-proxy-provider'] = cached.provider;
  if (shaped.kind === 'json') {
    sendJson(io.res, 200, shaped.body, headers);
    return true;
  }
  startSse(io.res, headers);
  for (const data of shaped.chunks) {
    const written = writeFrame(io.res, `data: ${data}\n\n`);
    if (written !== true && !(await written)) return true;
  }
  io.res.end(SSE_DONE);
  return true;
}
