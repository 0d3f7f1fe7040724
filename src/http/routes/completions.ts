/**
 * POST /v1/completions, OpenAI's legacy text completions (still what vLLM and base models
 * serve): passed through unchanged to providers that list `completions` in `nativeApis`, and
 * refused with a 400 naming the model when none of the model's providers does. There is no
 * translation: a chat model given a bare prompt is a different request, not the same one.
 * Answers are not cached (the response cache keys and replays chat and embeddings only).
 */
import type { ChatAnswer, JsonAnswer } from '../../upstream/index.js';
import type { InboundApi } from '../inbound/api.js';
import { relaySse } from '../inbound/relay.js';
import { parseCompletionsRequest, type CompletionsRequest } from '../validate.js';

export const completionsApi: InboundApi<CompletionsRequest, ChatAnswer> = {
  operation: 'text_completion',
  parse: parseCompletionsRequest,
  model: (request) => request.model,
  streams: (request) => request.stream === true,
  spanFields: (request) => request,
  condensable: () => undefined,
  eligible: {
    route: '/v1/completions',
    test: (provider) => provider.nativeApis.has('completions') && provider.native !== undefined,
    refusal: "list 'completions' in the nativeApis of a provider whose upstream serves it",
  },
  send: (provider, call, signal, otelContext) =>
    provider.native!(
      { api: 'completions', bodyText: call.bodyText ?? call.text, stream: call.stream },
      { signal, otelContext },
    ),
  respond: {
    json: (call, _provider, answer: JsonAnswer) => call.ex.json(200, answer.body, call.headers),
    stream: relaySse,
    replay: () => Promise.resolve(false),
  },
};
