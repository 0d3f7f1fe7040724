/**
 * The undici dispatch handler behind UpstreamClient. It replaces `pool.request` and its
 * Readable body, which cost 10-15% of a proxied request's CPU: a JSON answer is collected
 * into Buffers and decoded once, a stream's chunks go into a small pull queue. Semantics
 * kept from the Readable path: the cancel signal destroys the socket at once (and discards
 * what was buffered), a 2xx stream pauses the socket past 64 KiB unread, a non-2xx body is
 * read up to a bound and then the socket is dropped.
 */
import { errors as undiciErrors, type Dispatcher } from './undici.js';
import type { CancelSignal } from '../tasks/cancellation.js';
import { UpstreamError } from '../upstream/index.js';

/** A 2xx streamed body: chunks pulled in order. close() releases the socket; idempotent. */
export interface UpstreamBody {
  next(): Promise<IteratorResult<Buffer, undefined>>;
  close(): void;
}

/** Builds the error a non-2xx answer is thrown as, from its (bounded) body text. */
export type StatusFailure = (status: number, retryAfter: string | undefined, text: string) => Error;

const HIGH_WATER = 64 * 1024;
const MAX_ERROR_BODY = 16 * 1024;
/**
 * The largest 2xx answer read whole (JSON, not streams): beyond it the answer is refused, not
 * buffered (a 1 GB answer took the process past 2 GB). Room for a 2048-input float embeddings
 * batch of 1536 dimensions (~65 MB of JSON).
 */
export const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

type Settle<T> = { resolve: (value: T) => void; reject: (err: unknown) => void };

/**
 * One request's handler. `stream` resolves with an UpstreamBody at 2xx headers; otherwise
 * it resolves with the whole 2xx body as text. Rejections are raw (undici errors, the
 * signal's reason) or the StatusFailure's error; the client classifies them.
 */
export class UpstreamHandler<T extends string | UpstreamBody>
  implements Dispatcher.DispatchHandler
{
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private retryAfter: string | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private body: ChunkQueue | undefined;
  private settle: Settle<T> | undefined;
  private readonly onAbort = (): void => this.abort(this.signal.reason);

  constructor(
    private readonly stream: boolean,
    private readonly signal: CancelSignal,
    private readonly failed: StatusFailure,
    settle: Settle<T>,
    private readonly maxAnswerBytes = MAX_ANSWER_BYTES,
  ) {
    this.settle = settle;
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settle === undefined) controller.abort(new undiciErrors.RequestAbortedError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, the answer follows
    this.status = statusCode;
    if (statusCode >= 300) {
      const ra = headers['retry-after'];
      this.retryAfter = Array.isArray(ra) ? ra[0] : ra;
      return;
    }
    if (this.stream) {
      const body = new ChunkQueue(controller, () => this.done());
      this.body = body;
      this.resolve(body as unknown as T);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.body !== undefined) {
      this.body.push(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.status >= 300 && this.size >= MAX_ERROR_BODY) {
      this.reject(this.failed(this.status, this.retryAfter, this.errorText()));
      controller.abort(new undiciErrors.RequestAbortedError());
    } else if (this.size > this.maxAnswerBytes) {
      this.reject(
        new UpstreamError(
          'invalid_response',
          `answer from provider larger than ${this.maxAnswerBytes} bytes`,
        ),
      );
      controller.abort(new undiciErrors.RequestAbortedError());
      this.done();
    }
  }

  onResponseEnd(): void {
    // A stream's body stays abortable until it has been read (or closed): see ChunkQueue.
    if (this.body !== undefined) return this.body.end();
    if (this.status < 300) this.resolve(decodeUtf8(this.chunks, this.size) as unknown as T);
    else this.reject(this.failed(this.status, this.retryAfter, this.errorText()));
    this.done();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.abort(err);
  }

  private abort(reason: unknown): void {
    if (this.body !== undefined) this.body.fail(reason);
    // An error body cut short is still reported by its status (with no body to pass on).
    else if (this.status >= 300) this.reject(this.failed(this.status, this.retryAfter, ''));
    else this.reject(reason);
    this.controller?.abort(
      reason instanceof Error ? reason : new undiciErrors.RequestAbortedError(),
    );
    this.done();
  }

  private errorText(): string {
    return Buffer.concat(this.chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
  }

  private resolve(value: T): void {
    const settle = this.settle;
    this.settle = undefined;
    settle?.resolve(value);
  }

  private reject(err: unknown): void {
    const settle = this.settle;
    this.settle = undefined;
    settle?.reject(err);
  }

  private done(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.chunks = [];
  }
}

/** Pending chunks of a streamed body, pulled one at a time by a single reader. */
class ChunkQueue implements UpstreamBody {
  private chunks: Buffer[] = [];
  private head = 0;
  private bytes = 0;
  private ended = false;
  private error: Error | undefined = undefined;
  private failedWith = false;
  private waiter: Settle<IteratorResult<Buffer, undefined>> | undefined;

  constructor(
    private readonly controller: Dispatcher.DispatchController,
    private readonly release: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.failedWith || this.ended) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= HIGH_WATER) this.controller.pause();
  }

  end(): void {
    if (this.failedWith) return;
    this.ended = true;
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    this.release();
    waiter.resolve({ done: true, value: undefined });
  }

  /** Like a destroyed Readable: what was buffered is dropped, reads reject with `err`. */
  fail(err: unknown): void {
    if (this.failedWith) return;
    this.failedWith = true;
    const error = err instanceof Error ? err : new undiciErrors.RequestAbortedError();
    this.error = error;
    this.chunks = [];
    this.head = 0;
    this.release();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    if (this.head < this.chunks.length) {
      const value = this.chunks[this.head]!;
      this.chunks[this.head++] = EMPTY;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      }
      this.bytes -= value.length;
      if (this.bytes < HIGH_WATER && this.controller.paused) this.controller.resume();
      return Promise.resolve({ done: false, value });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) {
      this.release();
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  close(): void {
    if (this.failedWith || (this.ended && this.head >= this.chunks.length)) return;
    const err = new undiciErrors.RequestAbortedError();
    const open = !this.ended;
    this.fail(err);
    if (open) this.controller.abort(err);
  }
}

const EMPTY = Buffer.alloc(0);

/** The body as UTF-8 text, a leading BOM skipped (as undici's body.text() does). */
function decodeUtf8(chunks: Buffer[], length: number): string {
  if (chunks.length === 0 || length === 0) return '';
  const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  const bom = buf.length > 2 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return buf.toString('utf8', bom ? 3 : 0);
}
