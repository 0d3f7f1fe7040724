/**
 * POST /v1/chat/completions, OpenAI's Chat Completions API: its parser and responder. The
 * request goes through the shared pipeline (http/inbound/pipeline.ts): validate, answer from
 * cache when allowed, condense when the model is configured for it, run the fallback engine,
 * and relay the winner's answer (JSON, or SSE frames written as they arrive).
 */
import type { CachedAnswer } from '../../cache/index.js';
import { replayAs, replayable } from '../../cache/replay.js';
import { SSE_DONE } from '../../providers/index.js';
import type { ChatAnswer, JsonAnswer } from '../../upstream/index.js';
import type { ChatCompletionRequest } from '../../upstream/openai-types.js';
import type { InboundApi, ProxyCall } from '../inbound/api.js';
import { relaySse } from '../inbound/relay.js';
import type { ExtraHeaders } from '../respond.js';
import { parseChatRequest } from '../validate.js';

type ChatCall = ProxyCall<ChatCompletionRequest>;

export const chatCompletionsApi: InboundApi<ChatCompletionRequest, ChatAnswer> = {
  operation: 'chat',
  cacheKind: 'chat',
  parse: parseChatRequest,
  model: (request) => request.model,
  streams: (request) => request.stream === true,
  spanFields: (request) => request,
  condensable: (request) => request,
  send: (provider, call, signal, otelContext) =>
    provider.chat(call.request, {
      signal,
      otelContext,
      capture: call.capture,
      bodyText: call.bodyText,
    }),
  respond: {
    json: (call: ChatCall, _provider: string, answer: JsonAnswer) =>
      call.ex.json(200, answer.body, call.headers),
    stream: relaySse,
    replay,
  },
  // Only what can be replayed in both shapes (JSON and stream).
  admit: replayable,
};

/** Serves a cached answer; false, with nothing written, when it cannot take this shape. */
async function replay(
  call: ChatCall,
  cached: CachedAnswer,
  headers: ExtraHeaders,
): Promise<boolean> {
  const includeUsage = call.request.stream_options?.include_usage === true;
  const shaped = replayAs(cached, { stream: call.stream, includeUsage });
  if (shaped === undefined) return false;
  const { ex } = call;
  if (shaped.kind === 'json') {
    ex.json(200, shaped.body, headers);
    return true;
  }
  ex.startStream(headers);
  for (const data of shaped.chunks) {
    const written = ex.frame(`data: ${data}\n\n`);
    if (written !== true && !(await written)) return true;
  }
  ex.endStream(SSE_DONE);
  return true;
}
