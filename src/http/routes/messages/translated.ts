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
import { isRecord, parseRecord } from '../../../json.js';
import { SseParser } from '../../../providers/index.js';
import type { CancelSignal } from '../../../tasks/index.js';
import {
  UpstreamError,
  type ChatAnswer,
  type Frame,
  type JsonAnswer,
  type Provider,
  type StreamAnswer,
} from '../../../upstream/index.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
} from '../../../upstream/openai-types.js';
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
  return answer.kind === 'json' ? asMessage(answer, opts) : asMessagesStream(answer, opts);
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

/** A chat chunk as parsed from one SSE event; an error event ends the stream. */
function chunkOf(data: string): ChatCompletionChunk {
  const value = parseRecord(data);
  if (value === undefined) throw new UpstreamError('invalid_response', 'invalid SSE event');
  if (!Array.isArray(value.choices)) {
    // OpenAI-compatible servers end a failed stream with `{"error":{...}}`.
    const what = isRecord(value.error) ? 'stream error' : 'invalid SSE event';
    throw new UpstreamError(isRecord(value.error) ? 'server_error' : 'invalid_response', what);
  }
  return value as unknown as ChatCompletionChunk;
}

/**
 * The chat stream as Messages frames: the same stats (usage, end) and close, frames
 * re-encoded. Resolves once the first chat frame has been translated (an unusable one
 * fails this attempt, so the engine may fail over before the client saw a byte).
 */
async function asMessagesStream(
  answer: StreamAnswer,
  opts: MessagesStreamOptions,
): Promise<StreamAnswer> {
  const encoder = new MessagesStreamEncoder(opts);
  const parser = new SseParser();
  const recode = (frame: Frame): string => {
    const out: string[] = [];
    for (const event of parser.push(frame)) {
      if (event.data !== '[DONE]') out.push(...encoder.push(chunkOf(event.data)));
    }
    return out.join('');
  };
  let ended = false;
  const next = async (): Promise<IteratorResult<Frame>> => {
    for (;;) {
      if (ended) return { done: true, value: undefined };
      const step = await answer.rest.next();
      if (step.done === true) {
        ended = true;
        // Cut short (no [DONE]): nothing more; the relay tells the client it ended early.
        if (!answer.stats.done) return step;
        return { done: false, value: encoder.end().join('') };
      }
      const frames = recoded(recode, step.value, answer);
      if (frames !== '') return { done: false, value: frames };
    }
  };
  let first: Frame = recoded(recode, answer.first, answer);
  if (first === '') {
    // The first chat event said nothing a Message shows (a bare [DONE]): wait for one that does.
    const step = await next();
    if (step.done === true) {
      answer.close();
      throw new UpstreamError('invalid_response', 'stream ended before any event');
    }
    first = step.value;
  }
  return {
    kind: 'stream',
    first,
    rest: { next },
    stats: answer.stats,
    close: () => answer.close(),
  };
}

/** One frame re-encoded; a translation failure closes the upstream and fails the stream. */
function recoded(recode: (frame: Frame) => string, frame: Frame, answer: StreamAnswer): string {
  try {
    return recode(frame);
  } catch (err) {
    answer.close();
    throw unusable(err);
  }
}
