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

/**
 * A failure to translate an answer: the provider's answer was unusable (a stream the
 * Responses events cannot be built from, or a malformed answer: its fields are not trusted
 * input), so the engine may fail over. An UpstreamError (a stream's error event) stays.
 */
function unusable(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const why = err instanceof ResponsesStreamError ? err.message : 'malformed answer from provider';
  return new UpstreamError('invalid_response', why);
}

function asResponse(answer: JsonAnswer, request: ResponsesRequest): JsonAnswer {
  const completion = parseRecord(answer.body) as ChatCompletion | undefined;
  if (completion === undefined || !Array.isArray(completion.choices)) {
    throw new UpstreamError('invalid_response', 'invalid JSON from provider');
  }
  try {
    const response = fromChatCompletion(completion, request, { ids: randomIds, now: nowSeconds() });
    return { kind: 'json', body: JSON.stringify(response), usage: answer.usage };
  } catch (err) {
    throw unusable(err);
  }
}
