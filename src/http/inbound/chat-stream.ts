/**
 * A chat completion stream re-encoded into another API's events, for a request translated to
 * chat (Messages, Responses): the upstream's SSE events are parsed into chunks and fed to the
 * API's encoder, frame by frame, so the route's responder relays the client's own format.
 * The stats (usage, end) and close are the upstream stream's; only the frames change.
 */
import { isRecord, parseRecord } from '../../json.js';
import { SseParser } from '../../providers/index.js';
import {
  UpstreamError,
  type Frame,
  type JsonAnswer,
  type StreamAnswer,
} from '../../upstream/index.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../upstream/openai-types.js';

/** Turns chat chunks into the client API's SSE frames. */
export interface ChunkEncoder {
  /** The frames for one chunk (none is fine). */
  push(chunk: ChatCompletionChunk): string[];
  /** The closing frames, once the chat stream ended whole. */
  end(): string[];
}

/**
 * A failure to translate an answer as the attempt's error: the provider's answer was unusable
 * (one the client's format cannot express, whose message `said` names, or a malformed one: its
 * fields are not trusted input), so the engine may fail over. An UpstreamError (a stream's
 * error event) stays as it is.
 */
export function unusableAnswer(
  err: unknown,
  said: (err: unknown) => string | undefined,
): UpstreamError {
  if (err instanceof UpstreamError) return err;
  return new UpstreamError('invalid_response', said(err) ?? 'malformed answer from provider');
}

/** A chat completion answer as the client API's JSON body (`translate` builds it). */
export function recodeChatJson(
  answer: JsonAnswer,
  translate: (completion: ChatCompletion) => unknown,
  unusable: (err: unknown) => UpstreamError,
): JsonAnswer {
  const completion = parseRecord(answer.body) as ChatCompletion | undefined;
  if (completion === undefined || !Array.isArray(completion.choices)) {
    throw new UpstreamError('invalid_response', 'invalid JSON from provider');
  }
  try {
    return { kind: 'json', body: JSON.stringify(translate(completion)), usage: answer.usage };
  } catch (err) {
    throw unusable(err);
  }
}

/** A chat chunk as parsed from one SSE event; an error event ends the stream. */
export function chunkOf(data: string): ChatCompletionChunk {
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
 * The chat stream as the encoder's frames. Resolves once the first chat frame has been
 * translated (an unusable one fails this attempt, so the engine may fail over before the
 * client saw a byte). `unusable` maps a translation failure to the attempt's error.
 */
export async function recodeChatStream(
  answer: StreamAnswer,
  encoder: ChunkEncoder,
  unusable: (err: unknown) => UpstreamError,
): Promise<StreamAnswer> {
  const parser = new SseParser();
  const recode = (frame: Frame): string => {
    const out: string[] = [];
    for (const event of parser.push(frame)) {
      if (event.data !== '[DONE]') out.push(...encoder.push(chunkOf(event.data)));
    }
    return out.join('');
  };
  const recoded = (frame: Frame): string => {
    try {
      return recode(frame);
    } catch (err) {
      answer.close();
      throw unusable(err);
    }
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
      const frames = recoded(step.value);
      if (frames !== '') return { done: false, value: frames };
    }
  };
  let first: Frame = recoded(answer.first);
  if (first === '') {
    // The first chat event said nothing the client's format shows (a bare [DONE]): wait.
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
