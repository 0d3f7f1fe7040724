/**
 * A Responses request to a provider that does not serve the Responses API: translated to
 * chat completions, sent with the provider's `chat()`, and its answer translated back before
 * it leaves the attempt, so the route's responder writes Responses bytes whichever way they
 * came. A JSON answer becomes a Response; a stream's chunks go through the
 * ResponsesStreamTranslator (typed events, each numbered), ending with response.completed
 * (or .incomplete) once the chat stream ended whole. What chat cannot carry is a 400
 * (translationRefused); an answer that cannot be a Response is an invalid response, so the
 * engine fails over.
 */
import type { Context } from '@opentelemetry/api';
import {
  ResponsesStreamError,
  ResponsesStreamTranslator,
  ResponsesTranslationError,
  fromChatCompletion,
  randomIds,
  toChatRequest,
  type InputItem,
  type ResponsesRequest,
} from '../../../formats/responses/index.js';
import type { CancelSignal } from '../../../tasks/index.js';
import type { ChatAnswer, JsonAnswer, Provider, UpstreamError } from '../../../upstream/index.js';
import type { ChatCompletionRequest } from '../../../upstream/openai-types.js';
import { recodeChatJson, recodeChatStream, unusableAnswer } from '../../inbound/chat-stream.js';
import { translationRefused } from './native.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Sends `request` (after the conversation `prior`, oldest first) to `provider` as chat; the
 * answer comes back in the Responses format.
 */
export async function sendTranslated(
  provider: Provider,
  request: ResponsesRequest,
  prior: readonly InputItem[],
  signal: CancelSignal,
  otelContext: Context,
): Promise<ChatAnswer> {
  let chat: ChatCompletionRequest;
  try {
    chat = toChatRequest(request, { prior });
  } catch (err) {
    throw err instanceof ResponsesTranslationError ? translationRefused(err) : err;
  }
  const answer = await provider.chat(chat, { signal, otelContext });
  if (answer.kind === 'json') return asResponse(answer, request);
  const translator = new ResponsesStreamTranslator(request, { ids: randomIds, clock: nowSeconds });
  return recodeChatStream(answer, translator, unusable);
}

/** Why an answer could not be a Response, when the format says (else: malformed). */
const unusable = (err: unknown): UpstreamError =>
  unusableAnswer(err, (e) => (e instanceof ResponsesStreamError ? e.message : undefined));

const asResponse = (answer: JsonAnswer, request: ResponsesRequest): JsonAnswer =>
  recodeChatJson(
    answer,
    (completion) => fromChatCompletion(completion, request, { ids: randomIds, now: nowSeconds() }),
    unusable,
  );
