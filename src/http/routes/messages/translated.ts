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
import type { CancelSignal } from '../../../tasks/index.js';
import type { ChatAnswer, Provider, UpstreamError } from '../../../upstream/index.js';
import type { ChatCompletionRequest } from '../../../upstream/openai-types.js';
import { recodeChatJson, recodeChatStream, unusableAnswer } from '../../inbound/chat-stream.js';
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
    ? recodeChatJson(answer, (completion) => fromChatCompletion(completion, opts), unusable)
    : recodeChatStream(answer, new MessagesStreamEncoder(opts), unusable);
}

/** Why an answer could not be a Message, when the format says (else: malformed). */
const unusable = (err: unknown): UpstreamError =>
  unusableAnswer(err, (e) => (e instanceof MessagesFormatError ? e.message : undefined));
