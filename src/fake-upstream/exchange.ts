/**
 * One request's socket work: JSON answers, SSE streams written one event per res.write (no
 * batching, so a client sees each chunk as it goes), deliberate resets and partial bodies.
 * Every wait is a sleep on the exchange's own AbortSignal, aborted when the client goes away
 * or the server closes, so no timer outlives its request.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sleep } from '../tasks/timers.js';
import type { SseFrame } from './api.js';

export interface StreamTiming {
  /** Before the first event (the headers go out at once, like a real upstream's). */
  latencyMs: number;
  /** Between content chunks. */
  chunkDelayMs: number;
}

/** How a written stream or partial body stops: a clean end, a dropped socket, or silence. */
export type Ending = 'end' | 'reset' | 'hang';

/** Long enough to outlast any test; the exchange's signal ends it when the client goes. */
export const HANG_MS = 2_147_483_647;

const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

export class Exchange {
  /** Content chunks written so far. */
  chunksSent = 0;
  /** Set when this side drops the connection on purpose, so it is not a client disconnect. */
  endedByServer = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly res: ServerResponse,
    private readonly baseHeaders: OutgoingHttpHeaders,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Cancels every wait of this exchange (client gone, or server closing). */
  abort(): void {
    this.controller.abort();
  }

  /** Waits `ms` unless cancelled; true when the exchange should go on. */
  wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!this.signal.aborted);
    return sleep(ms, this.signal);
  }

  json(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
    this.raw(status, JSON.stringify(body), 'application/json', headers);
  }

  raw(
    status: number,
    text: string | Uint8Array,
    contentType: string,
    headers: OutgoingHttpHeaders = {},
  ): void {
    if (this.signal.aborted) return;
    this.res.writeHead(status, {
      ...this.baseHeaders,
      ...headers,
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
    });
    this.res.end(text);
  }

  /** Writes the first half of a JSON body (chunked, no length), then ends or drops. */
  async partialJson(body: unknown, ending: Ending): Promise<void> {
    if (this.signal.aborted) return;
    const text = JSON.stringify(body);
    this.res.writeHead(200, { ...this.baseHeaders, 'content-type': 'application/json' });
    await this.finish(text.slice(0, Math.floor(text.length / 2)), ending);
  }

  /** Sends the frames as SSE: headers now, latency, then one write per frame. */
  async stream(frames: readonly SseFrame[], timing: StreamTiming, ending: Ending): Promise<void> {
    if (this.signal.aborted) return;
    this.res.writeHead(200, { ...this.baseHeaders, ...SSE_HEADERS });
    this.res.flushHeaders();
    if (!(await this.wait(timing.latencyMs))) return;
    let contentSeen = 0;
    for (const [index, frame] of frames.entries()) {
      if (frame.content) {
        if (contentSeen > 0 && !(await this.wait(timing.chunkDelayMs))) return;
        contentSeen++;
      }
      if (this.signal.aborted) return;
      if (index === frames.length - 1) {
        if (frame.content) this.chunksSent++;
        await this.finish(frame.text, ending);
        return;
      }
      this.res.write(frame.text);
      if (frame.content) this.chunksSent++;
    }
    await this.finish('', ending);
  }

  /** Drops the connection without an answer: a TCP reset the client sees as ECONNRESET. */
  reset(): void {
    this.endedByServer = true;
    const socket: Socket = this.res.socket ?? this.res.req.socket;
    socket.resetAndDestroy();
  }

  private async finish(text: string | Uint8Array, ending: Ending): Promise<void> {
    if (ending === 'end') {
      this.res.end(text);
      return;
    }
    if (ending === 'hang') {
      // Headers and bytes sent, then nothing more: the client's read timeout is what ends it.
      if (text.length > 0) this.res.write(text);
      await this.wait(HANG_MS);
      return;
    }
    // Close (FIN, not RST) only once the last bytes are handed to the kernel: a reset could
    // make the client's kernel discard what it already received, and the point of a
    // mid-stream drop is that the client saw the first chunks.
    if (text.length > 0) await this.flushed(text);
    this.endedByServer = true;
    this.res.socket?.destroy();
  }

  /** Resolves once `text` reached the socket, or the exchange was cancelled meanwhile. */
  private flushed(text: string | Uint8Array): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      this.signal.addEventListener('abort', done, { once: true });
      this.res.write(text, done);
    });
  }
}

/**
 * The frames up to and including the `n`th content frame: where a mid-stream failure cuts.
 * With fewer content frames, cuts after the last one; with none, after the first frame.
 */
export function framesThroughContent(frames: readonly SseFrame[], n: number): SseFrame[] {
  let seen = 0;
  let cut = Math.min(1, frames.length);
  for (const [index, frame] of frames.entries()) {
    if (!frame.content) continue;
    seen++;
    cut = index + 1;
    if (seen >= n) break;
  }
  return frames.slice(0, cut);
}
