/**
 * An Anthropic event stream relayed as OpenAI chunks: each upstream chunk is parsed into SSE
 * events, translated (AnthropicStreamTranslator) and re-encoded as one frame. The first frame
 * is pulled before the answer is handed over, so a provider that answers 200 with no event
 * fails over instead of winning a race.
 */
import {
  capturing,
  toUpstreamError,
  UpstreamError,
  type CaptureOptions,
  type Frame,
  type StreamAnswer,
  type StreamStats,
} from '../../upstream/index.js';
import type { CancelSignal } from '../../tasks/cancellation.js';
import { encodeSseData, SSE_DONE, SseParser, type SseEvent } from '../sse.js';
import type { UpstreamBody } from '../upstream-response.js';
import { type AnthropicStreamTranslator, UpstreamStreamError } from './stream.js';

export interface AnthropicStreamOptions {
  capture?: CaptureOptions | undefined;
  signal: CancelSignal;
}

export async function anthropicStreamAnswer(
  body: UpstreamBody,
  translator: AnthropicStreamTranslator,
  opts: AnthropicStreamOptions,
): Promise<StreamAnswer> {
  const frames = new TranslatedFrames(body, translator, opts);
  const close = (): void => body.close();
  let first: Frame | undefined;
  try {
    first = await frames.pull();
  } catch (err) {
    close();
    throw err;
  }
  if (first === undefined) {
    close();
    throw new UpstreamError('invalid_response', 'stream ended before any event');
  }
  const rest: AsyncIterator<Frame> = {
    next: async () => {
      const frame = await frames.pull();
      return frame === undefined ? { done: true, value: undefined } : { done: false, value: frame };
    },
  };
  return { kind: 'stream', first, rest, stats: frames.stats, close };
}

/** The upstream body's chunks, each translated into zero or more OpenAI frames. */
class TranslatedFrames {
  readonly stats: StreamStats;
  private readonly parser = new SseParser();
  private ended = false;

  constructor(
    private readonly body: UpstreamBody,
    private readonly translator: AnthropicStreamTranslator,
    private readonly opts: AnthropicStreamOptions,
  ) {
    this.stats = { usage: undefined, done: false, captured: capturing(opts.capture) };
  }

  /** The next non-empty frame (an upstream chunk's frames joined into one); undefined at the end. */
  async pull(): Promise<Frame | undefined> {
    for (;;) {
      if (this.ended) return undefined;
      const next = await this.nextChunk();
      const events = next.done === true ? this.parser.end() : this.parser.push(next.value);
      let out = this.translate(events);
      if (this.translator.done && !this.stats.done) {
        this.stats.done = true;
        this.stats.usage = this.translator.usage;
        out += SSE_DONE;
        this.ended = true;
      }
      if (next.done === true) this.ended = true;
      if (out !== '') return out;
    }
  }

  private async nextChunk(): Promise<IteratorResult<Buffer, undefined>> {
    try {
      return await this.body.next();
    } catch (err) {
      this.body.close();
      throw toUpstreamError(err, this.opts.signal);
    }
  }

  /** The events as OpenAI SSE frames, each chunk's payload captured when caching. */
  private translate(events: SseEvent[]): string {
    let out = '';
    try {
      for (const ev of events) {
        for (const chunk of this.translator.push(ev)) {
          const data = JSON.stringify(chunk);
          this.stats.captured?.push(data);
          out += encodeSseData(chunk);
        }
      }
    } catch (err) {
      this.body.close();
      if (err instanceof UpstreamStreamError)
        throw new UpstreamError('server_error', `stream error (${err.errorType})`);
      throw new UpstreamError('invalid_response', 'invalid stream event from provider');
    }
    return out;
  }
}
