/**
 * POST /v1/responses, OpenAI's Responses API (what the Agents SDK, the Vercel AI SDK's
 * default OpenAI provider and coding agents send), through the shared pipeline. A provider
 * whose upstream serves it natively (`responses` in its nativeApis) gets the client's body
 * byte for byte and its answer is relayed as it comes; any other gets it translated to chat
 * completions and the answer translated back (translated.ts). Either way the answer reaching
 * the responder is in the Responses format. A request with built-in tools goes to native
 * providers only (native.ts).
 *
 * The proxy keeps the conversation (conversation.ts): a previous_response_id is looked up in
 * the response store before routing and expanded for every provider but the one that served
 * that turn; an answered turn is stored unless the request said `store: false`.
 *
 * Not cached (the response cache keys and replays chat) and not condensed (the condenser
 * shortens chat messages).
 */
import type { ResponseStore } from '../../../cache/response-store.js';
import type { ChatAnswer, JsonAnswer, StreamAnswer } from '../../../upstream/index.js';
import type { InboundApi, ProxyCall } from '../../inbound/api.js';
import { relaySse } from '../../inbound/relay.js';
import {
  lookUpPrevious,
  nativeBody,
  remember,
  responseOf,
  watched,
  type ResponsesCall,
  type WatchedStream,
} from './conversation.js';
import { eligibleFor, parsed, speaksResponses } from './native.js';
import { sendTranslated } from './translated.js';

/** The Responses API, its turns kept in `store`. */
export function responsesApi(store: ResponseStore): InboundApi<ResponsesCall, ChatAnswer> {
  const stream = async (
    call: ProxyCall<ResponsesCall>,
    provider: string,
    answer: StreamAnswer,
  ): Promise<boolean> => {
    const whole = await relaySse(call, provider, answer);
    // Watched (send) only when it is to be stored.
    if (whole && call.request.body.store !== false) {
      remember(store, call, provider, (answer as WatchedStream).final());
    }
    return whole;
  };
  return {
    operation: 'chat',
    parse: (raw) => ({ body: parsed(raw), prior: [], origin: undefined }),
    model: ({ body }) => body.model,
    streams: ({ body }) => body.stream === true,
    spanFields: ({ body }) => ({
      model: body.model,
      temperature: body.temperature ?? null,
      max_tokens: body.max_output_tokens ?? null,
    }),
    condensable: () => undefined,
    eligibleFor: ({ body }) => eligibleFor(body),
    prepare: (call) => lookUpPrevious(store, call),
    send: async (provider, call, signal, otelContext) => {
      const answer = speaksResponses(provider)
        ? await provider.native!(
            { api: 'responses', bodyText: nativeBody(call, provider.name), stream: call.stream },
            { signal, otelContext },
          )
        : await sendTranslated(
            provider,
            call.request.body,
            call.request.prior,
            signal,
            otelContext,
          );
      const kept = call.request.body.store !== false;
      return answer.kind === 'stream' && kept ? watched(answer) : answer;
    },
    respond: {
      json: (call, provider, answer: JsonAnswer) => {
        call.ex.json(200, answer.body, call.headers);
        // Parsed only to be kept: a request that asked not to be stored costs nothing more.
        if (call.request.body.store !== false) {
          remember(store, call, provider, responseOf(answer.body));
        }
      },
      // Frames are Responses events either way; nothing like chat's [DONE] ends the stream.
      stream,
      replay: () => Promise.resolve(false),
    },
  };
}
