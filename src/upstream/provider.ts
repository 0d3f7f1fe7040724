/**
 * The provider contract the fallback engine runs against. Adapters speak their own wire
 * format and hand back OpenAI-format answers: a JSON body, or an SSE stream whose first
 * frame has already arrived (so a race can pick the first provider to yield a chunk).
 */
import type { Context } from '@opentelemetry/api';
import type { InboundApiName, ProviderConfig } from '../config/index.js';
import type { ChatCompletionRequest, EmbeddingsRequest, Usage } from './openai-types.js';
import type { CancelSignal } from '../tasks/cancellation.js';
import type { CaptureOptions, CapturedPayloads } from './captured.js';

export interface CallOptions {
  signal: CancelSignal;
  /** OTel context of the attempt, for traceparent propagation upstream. */
  otelContext?: Context;
  /**
   * The request's JSON as the client sent it, when the proxy changed nothing: a provider
   * speaking OpenAI's format forwards it byte for byte instead of re-serialising.
   */
  bodyText?: string | undefined;
}

export interface JsonAnswer {
  kind: 'json';
  /** The OpenAI-format JSON response text. */
  body: string;
  usage: Usage | undefined;
}

/** A frame is bytes of OpenAI-format SSE ("data: ...\n\n"), written to the client as is. */
export type Frame = string | Uint8Array;

export interface StreamAnswer {
  kind: 'stream';
  /** The first frame, already received. */
  first: Frame;
  /** The frames after the first; ends when the upstream stream ended. */
  rest: AsyncIterator<Frame>;
  /** Filled as the stream is read. */
  readonly stats: StreamStats;
  /** Releases the upstream (destroys the socket if it is still open). Idempotent. */
  close(): void;
}

export interface StreamStats {
  usage: Usage | undefined;
  /** True once the upstream sent its terminal event ([DONE] / message_stop). */
  done: boolean;
  /** The data payloads seen, when capture was asked for (for caching a completed stream). */
  captured: CapturedPayloads | undefined;
}

export type ChatAnswer = JsonAnswer | StreamAnswer;

/**
 * A request in an inbound API the provider's upstream serves natively (its `nativeApis`):
 * passed through unchanged, and its answer (JSON, or SSE frames) comes back in that same API's
 * wire format. `usage` and the stream's `done` are read from that format.
 */
export interface NativeRequest {
  /** The API, or `count_tokens`: the Messages API's token count, served with `messages`. */
  api: InboundApiName | 'count_tokens';
  /** The body to send: the client's, byte for byte, unless the proxy had to change it. */
  bodyText: string;
  stream: boolean;
  /** Client headers the API defines (e.g. anthropic-beta), already filtered by the route. */
  headers?: Readonly<Record<string, string>> | undefined;
}

export interface Provider {
  readonly name: string;
  readonly config: ProviderConfig;
  /** The inbound APIs `native()` passes through (chat and embeddings via their own methods). */
  readonly nativeApis: ReadonlySet<InboundApiName>;
  chat(
    req: ChatCompletionRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer>;
  embeddings(req: EmbeddingsRequest, opts: CallOptions): Promise<JsonAnswer>;
  /** Passes a request in one of `nativeApis` through; absent when it has none beyond chat. */
  native?(
    req: NativeRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer>;
  /** A cheap liveness probe (a models list, or a 1-token completion when configured). */
  probe(opts: CallOptions): Promise<void>;
  /** Closes connection pools. */
  close(): Promise<void>;
}
