/**
 * A Messages request to a provider that does not speak the Messages API: translated to chat
 * completions, sent with the provider's `chat()`, and its answer translated back before it
 * leaves the attempt, so the route's responder writes Messages bytes whichever way they came.
 * A JSON answer becomes a Message; a stream's chat chunks go through MessagesStreamEncoder
 * frame by frame (never a `[DONE]`), ending with message_delta and message_stop once the
 * chat stream ended whole. What chat cannot carry is a 400 (translationRefused); an answer
 * that cannot be a Message is an invalid response, so the engine fails over.
 */
import type { Context } from '@opentelemetry/api';
import {
  MessagesFormatError,
  MessagesStreamEncoder,
  fromChatCompletion,
  toChatRequest,
  type MessagesRequest,
  type MessagesStreamOptions,
} from '../../../formats/messages/index.js';
import { parseRecord } from '../../../json.js';
import type { CancelSignal } from '../../../tasks/index.js';
import {
  UpstreamError,
  type ChatAnswer,
  type JsonAnswer,
  type Provider,
} from '../../../upstream/index.js';
import type { ChatCompletion, ChatCompletionRequest } from '../../../upstream/openai-types.js';
import { recodeChatStream } from '../../inbound/chat-stream.js';
import { translationRefused } from './native.js';

/** Sends `request` to `provider` as chat; the answer comes back in the Messages format. */
export async function sendTranslated(
  provider: Provider,
  request: MessagesRequest,
  signal: CancelSignal,
  otelContext: Context,
): Promise<ChatAnswer> {
  let chat: ChatCompletionRequest;
  try {
    chat = toChatRequest(request);
  } catch (err) {
    throw err instanceof MessagesFormatError ? translationRefused(err) : err;
  }
  const answer = await provider.chat(chat, { signal, otelContext });
  const opts: MessagesStreamOptions = {
    model: request.model,
    stopSequences: request.stop_sequences,
    thinking: request.thinking !== undefined && request.thinking.type !== 'disabled',
  };
  return answer.kind === 'json'
    ? asMessage(answer, opts)
    : recodeChatStream(answer, new MessagesStreamEncoder(opts), unusable);
}

/**
 * A failure to translate an answer: the provider's answer was unusable (one the Messages
 * format cannot express, or a malformed one: its fields are not trusted input), so the
 * engine may fail over. An UpstreamError (a stream's error event) stays as it is.
 */
function unusable(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const why = err instanceof MessagesFormatError ? err.message : 'malformed answer from provider';
  return new UpstreamError('invalid_response', why);
}

function asMessage(answer: JsonAnswer, opts: MessagesStreamOptions): JsonAnswer {
  const completion = parseRecord(answer.body) as ChatCompletion | undefined;
  if (completion === undefined || !Array.isArray(completion.choices)) {
    throw new UpstreamError('invalid_response', 'invalid JSON from provider');
  }
  try {
    return {
      kind: 'json',
      body: JSON.stringify(fromChatCompletion(completion, opts)),
      usage: answer.usage,
    };
  } catch (err) {
    throw unusable(err);
  }
}
