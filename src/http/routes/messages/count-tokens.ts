/**
 * POST /v1/messages/count_tokens: `{"input_tokens": N}` for a Messages request. A model one
 * of whose providers speaks the Messages API natively is counted by that upstream (passed
 * through to its /messages/count_tokens, through the pipeline: fallback among such providers,
 * limits, spans); a model none of whose providers does is counted by the proxy itself with
 * its tokenizer (o200k_base, condense/tokens.ts) over the request translated to chat, tool
 * definitions included: an estimate of what that model will be billed, not Anthropic's count.
 */
import {
  MessagesFormatError,
  parseCountTokensRequest,
  toChatRequest,
  type CountTokensRequest,
} from '../../../formats/messages/index.js';
import { createTokenCounter, loadTokenizer, type ChatMessage } from '../../../condense/index.js';
import type { ChatAnswer, JsonAnswer } from '../../../upstream/index.js';
import type { ChatCompletionRequest } from '../../../upstream/openai-types.js';
import { ProxyError } from '../../errors.js';
import type { InboundApi, ProxyCall } from '../../inbound/api.js';
import { anthropicHeaders, parsed, speaksMessages } from './native.js';

export const countTokensApi: InboundApi<CountTokensRequest, ChatAnswer> = {
  operation: 'chat',
  parse: (raw) => parsed(parseCountTokensRequest, raw),
  model: (request) => request.model,
  streams: () => false,
  spanFields: (request) => ({ model: request.model }),
  condensable: () => undefined,
  eligible: {
    route: '/v1/messages/count_tokens',
    test: speaksMessages,
    refusal: "list 'messages' in the nativeApis of an anthropic provider",
  },
  unserved: countLocally,
  send: (provider, call, signal, otelContext) =>
    provider.native!(
      {
        api: 'count_tokens',
        bodyText: call.bodyText ?? call.text,
        stream: false,
        headers: anthropicHeaders(call.ex.req.headers),
      },
      { signal, otelContext },
    ),
  respond: {
    json: (call, _provider, answer: JsonAnswer) => call.ex.json(200, answer.body, call.headers),
    stream: () => Promise.resolve(false),
    replay: () => Promise.resolve(false),
  },
};

/** The proxy's own count, for a model no provider of which counts Messages natively. */
async function countLocally(call: ProxyCall<CountTokensRequest>): Promise<void> {
  const messages = chatMessages(call.request);
  await loadTokenizer();
  const counter = createTokenCounter();
  await counter.measure(messages, call.ctx.signal);
  const body = JSON.stringify({ input_tokens: counter.count(messages) });
  call.ex.json(200, body, call.headers);
}

/** The request as the chat messages it is translated to, its tools as one more message. */
function chatMessages(request: CountTokensRequest): ChatMessage[] {
  const chat = translated(request);
  const messages: ChatMessage[] = [...chat.messages];
  // Tool definitions are prompt tokens too; chat providers bill them, framed their own way.
  if (chat.tools !== undefined) {
    messages.push({ role: 'system', content: JSON.stringify(chat.tools) });
  }
  return messages;
}

/** The chat request counted; what chat cannot carry is a 400 naming the field. */
function translated(request: CountTokensRequest): ChatCompletionRequest {
  try {
    return toChatRequest({ ...request, max_tokens: request.max_tokens ?? 1 });
  } catch (err) {
    if (!(err instanceof MessagesFormatError)) throw err;
    throw new ProxyError(400, err.message, { code: 'unsupported_parameter', param: err.param });
  }
}
