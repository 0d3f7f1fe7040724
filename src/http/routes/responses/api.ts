/**
 * POST /v1/responses, OpenAI's Responses API (what the Agents SDK, the Vercel AI SDK's
 * default OpenAI provider and coding agents send), through the shared pipeline. A provider
 * whose upstream serves it natively (`responses` in its nativeApis) gets the client's body
 * byte for byte and its answer is relayed as it comes; any other gets it translated to chat
 * completions and the answer translated back (translated.ts). Either way the answer reaching
 * the responder is in the Responses format. A request with built-in tools goes to native
 * providers only (native.ts).
 *
 * Not cached (the response cache keys and replays chat) and not condensed (the condenser
 * shortens chat messages).
 */
import type { ResponsesRequest } from '../../../formats/responses/index.js';
import type { ChatAnswer, JsonAnswer } from '../../../upstream/index.js';
import type { InboundApi } from '../../inbound/api.js';
import { relaySse } from '../../inbound/relay.js';
import { eligibleFor, parsed, speaksResponses } from './native.js';
import { sendTranslated } from './translated.js';

export const responsesApi: InboundApi<ResponsesRequest, ChatAnswer> = {
  operation: 'chat',
  parse: parsed,
  model: (request) => request.model,
  streams: (request) => request.stream === true,
  spanFields: (request) => ({
    model: request.model,
    temperature: request.temperature ?? null,
    max_tokens: request.max_output_tokens ?? null,
  }),
  condensable: () => undefined,
  eligibleFor,
  send: (provider, call, signal, otelContext) =>
    speaksResponses(provider)
      ? provider.native!(
          { api: 'responses', bodyText: call.bodyText ?? call.text, stream: call.stream },
          { signal, otelContext },
        )
      : sendTranslated(provider, call.request, [], signal, otelContext),
  respond: {
    json: (call, _provider, answer: JsonAnswer) => call.ex.json(200, answer.body, call.headers),
    // Frames are Responses events either way; nothing like chat's [DONE] ends the stream.
    stream: relaySse,
    replay: () => Promise.resolve(false),
  },
};
