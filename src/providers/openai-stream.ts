/**
 * An OpenAI-format SSE body passed through without re-encoding: bytes go to the client as
 * they arrive, while a parser watches them for the end marker, usage and (when caching)
 * the payloads. The first event is checked before the stream is handed over, so a provider
 * that answers 200 with garbage fails over instead of winning a race.
 */
import { toUpstreamError, UpstreamError } from './errors.js';
import { capturing } from './captured.js';
import type { CaptureOptions, Frame, StreamAnswer, StreamStats } from './provider.js';
import type { Usage } from './openai-types.js';
import { SseParser, type SseEvent } from './sse.js';
import type { UpstreamBody } from './upstream-response.js';
import type { CancelSignal } from '../tasks/cancellation.js';

export async function openAiStream(
  body: UpstreamBody,
  signal: CancelSignal,
  capture: CaptureOptions | undefined,
): Promise<StreamAnswer> {
  const iterator = body;
  const parser = new SseParser();
  const stats: StreamStats = { usage: undefined, done: false, captured: capturing(capture) };
  const close = (): void => body.close();

  const observe = (events: SseEvent[]): void => {
    for (const ev of events) {
      const data = ev.data;
      if (data === '[DONE]') {
        stats.done = true;
        continue;
      }
      stats.captured?.push(data);
      if (data.includes('"usage":{')) {
        try {
          const usage = (JSON.parse(data) as { usage?: Usage | null }).usage;
          if (usage != null) stats.usage = usage;
        } catch {
          // Not JSON: passed through as the provider sent it; the client sees what it sent.
        }
      }
    }
  };

  // Read until the first complete event; it must be JSON (or the end marker). Its chunks
  // are joined once, when it is complete: joining on every read was quadratic, and a 10 MB
  // first event stalled the event loop for seconds.
  const firstChunks: Buffer[] = [];
  let first: Buffer | undefined;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true)
        throw new UpstreamError('invalid_response', 'stream ended before any event');
      const chunk = next.value;
      firstChunks.push(chunk);
      const events = parser.push(chunk);
      if (events.length === 0) continue;
      first = firstChunks.length === 1 ? chunk : Buffer.concat(firstChunks);
      const head = events[0]!.data;
      if (head !== '[DONE]') {
        try {
          JSON.parse(head);
        } catch {
          throw new UpstreamError('invalid_response', 'invalid SSE event from provider');
        }
      }
      observe(events);
      break;
    }
  } catch (err) {
    close();
    throw toUpstreamError(err, signal);
  }

  // Plain promise callbacks, not an async function: one promise less per frame.
  const onError = (err: unknown): never => {
    close();
    throw toUpstreamError(err, signal);
  };
  const onChunk = (next: IteratorResult<Buffer, undefined>): IteratorResult<Frame> => {
    try {
      if (next.done === true) {
        observe(parser.end());
        return { done: true, value: undefined };
      }
      observe(parser.push(next.value));
      return next;
    } catch (err) {
      return onError(err);
    }
  };

  const rest: AsyncIterator<Frame> = { next: () => iterator.next().then(onChunk, onError) };
  return { kind: 'stream', first: first, rest, stats, close };
}
