/**
 * POST /v1/messages, Anthropic's Messages API (what Claude Code and the Anthropic SDKs send),
 * through the shared pipeline. Every provider can take it: one that speaks it natively (an
 * `anthropic` provider, `messages` in its nativeApis) gets the client's body byte for byte
 * with the client's anthropic-version/-beta headers and its answer is relayed as it comes;
 * any other gets it translated to chat completions and answers translated back
 * (translated.ts). Either way the answer reaching the responder is in the Messages format.
 *
 * Not cached (the response cache keys and replays chat) and not condensed (the condenser
 * shortens chat messages); errors take Anthropic's shape (the route is mounted so).
 */
import { parseMessagesRequest, type MessagesRequest } from '../../../formats/messages/index.js';
import type { ChatAnswer, JsonAnswer } from '../../../upstream/index.js';
import type { InboundApi } from '../../inbound/api.js';
import { relaySse } from '../../inbound/relay.js';
import { anthropicHeaders, parsed, speaksMessages } from './native.js';
import { sendTranslated } from './translated.js';

export const messagesApi: InboundApi<MessagesRequest, ChatAnswer> = {
  operation: 'chat',
  parse: (raw) => parsed(parseMessagesRequest, raw),
  model: (request) => request.model,
  streams: (request) => request.stream === true,
  spanFields: (request) => request,
  condensable: () => undefined,
  send: (provider, call, signal, otelContext) =>
    speaksMessages(provider)
      ? provider.native!(
          {
            api: 'messages',
            bodyText: call.bodyText ?? call.text,
            stream: call.stream,
            headers: anthropicHeaders(call.ex.req.headers),
          },
          { signal, otelContext },
        )
      : sendTranslated(provider, call.request, signal, otelContext),
  respond: {
    json: (call, _provider, answer: JsonAnswer) => call.ex.json(200, answer.body, call.headers),
    // Frames are Messages events either way; a failure after the start is an `error` event
    // (the Exchange's error shape), and nothing like chat's [DONE] ends the stream.
    stream: relaySse,
    replay: () => Promise.resolve(false),
  },
};
