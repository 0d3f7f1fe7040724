/**
 * What an inbound API (a client-facing wire format: OpenAI Chat Completions, Embeddings, and
 * later Responses and Anthropic Messages) brings to the one request pipeline: a parser and a
 * responder. Everything else (auth, limits, the request task, cache, condensation, fallback,
 * disconnects, metrics, spans) is the pipeline's (pipeline.ts), the same for every API.
 *
 * Adding an inbound API is: an `InboundApi` (a file in http/routes/), and a route line in
 * app/routes.ts.
 */
import type { Context } from '@opentelemetry/api';
import type { CacheableKind, CachedAnswer } from '../../cache/index.js';
import type {
  CaptureOptions,
  ChatAnswer,
  JsonAnswer,
  Provider,
  StreamAnswer,
} from '../../upstream/index.js';
import type { ChatCompletionRequest } from '../../upstream/openai-types.js';
import type { CancelSignal, TaskContext } from '../../tasks/index.js';
import type { Eligible } from '../../routing/engine.js';
import type { Exchange } from '../exchange.js';
import type { GenAiOperation } from '../request-span.js';
import type { ExtraHeaders } from '../respond.js';

/** One request as it flows through the pipeline's stages, one way, as a single value. */
export interface ProxyCall<Req> {
  /** The request's task: its signal, deadline, scope (attempts, condensation run in it). */
  readonly ctx: TaskContext;
  /** The request and its one way to answer; its timing/log record (upstream time, provider). */
  readonly ex: Exchange;
  /** The body as parsed JSON (what the cache decision and key read). */
  readonly raw: Record<string, unknown>;
  /** The body's text as the client sent it (the cache key reads it). */
  readonly text: string;
  /** The request as the API's parser validated it. */
  readonly request: Req;
  readonly model: string;
  readonly stream: boolean;
  /** Which providers can take this call (the API's, or the request's own); all when absent. */
  readonly eligible: Eligible | undefined;
  /** The x-llm-proxy-* headers of the answer, filled in stage by stage. */
  readonly headers: ExtraHeaders;
  /**
   * Forwarded as the client wrote it while the proxy changes nothing: re-serialising would
   * cost CPU and round numbers past 2^53 (a uint64 bound in a tool schema, a 64-bit seed).
   */
  bodyText: string | undefined;
  /** The response cache key, when the answer may be stored. */
  key: string | undefined;
  /** The cache's capture bound for a stream that may be stored. */
  capture: CaptureOptions | undefined;
  /** When routing started (performance.now()): the wait for a winner is upstream time. */
  routeStart: number;
  /** A stream's relay reached the stream's end (whole, or cut short by the provider). */
  relayed: boolean;
}

/** Writes answers the client's way. Each runs inside the winning attempt's task. */
export interface Responder<Req> {
  /** A JSON answer from `provider`. */
  json(call: ProxyCall<Req>, provider: string, answer: JsonAnswer): void;
  /**
   * Relays a stream from `provider`, frame by frame: true once it reached the stream's end
   * (its usage then counts), false when it stopped first (the client left, it broke off).
   */
  stream(call: ProxyCall<Req>, provider: string, answer: StreamAnswer): Promise<boolean>;
  /**
   * Serves a cached answer with `headers`; false, with nothing written, when it cannot take
   * this shape.
   */
  replay(call: ProxyCall<Req>, cached: CachedAnswer, headers: ExtraHeaders): Promise<boolean>;
}

/** Which providers can take an API's calls, and what to say when none of a model's can. */
export interface Eligibility {
  readonly route: string;
  readonly test: Eligible;
  /** For the 400: what would make one eligible. */
  readonly refusal: string;
  /** The param the 400 names; `model` when absent. */
  readonly param?: string;
}

export interface InboundApi<Req, A extends ChatAnswer = ChatAnswer> {
  /** The GenAI operation (span attributes). */
  readonly operation: GenAiOperation;
  /** The response cache's kind of answer; absent: this API's answers are never cached. */
  readonly cacheKind?: CacheableKind;
  /** Validates a parsed body: the request, or a 400 ProxyError saying what to fix. */
  parse(raw: Record<string, unknown>): Req;
  model(request: Req): string;
  streams(request: Req): boolean;
  /** What the span records of the request. */
  spanFields(request: Req): {
    model: string;
    temperature?: number | null;
    max_tokens?: number | null;
  };
  /** The chat form the condenser may shorten, or undefined when this API is never condensed. */
  condensable(request: Req): ChatCompletionRequest | undefined;
  /**
   * Runs before routing, after the cache and condensation stages: what the API must know
   * first (a Responses call's stored conversation); may throw the ProxyError to answer.
   */
  readonly prepare?: (call: ProxyCall<Req>) => Promise<void>;
  /** Sends the call to one provider (one try of one fallback attempt). */
  readonly send: (
    provider: Provider,
    call: ProxyCall<Req>,
    signal: CancelSignal,
    otelContext: Context,
  ) => Promise<A>;
  readonly respond: Responder<Req>;
  /**
   * Which providers can take this API (natively, or translated to their own); all when
   * absent. `refusal` says, for a 400 naming the model, what would make one eligible.
   */
  readonly eligible?: Eligibility;
  /**
   * Which providers can take this request, when that depends on the request (a Responses
   * request with built-in tools: only native ones); undefined or absent: `eligible`.
   */
  readonly eligibleFor?: (request: Req) => Eligibility | undefined;
  /**
   * Answers a call none of whose model's providers is `eligible` without routing it (the
   * proxy's own token count for count_tokens); absent: such a call is a 400 naming the model.
   */
  readonly unserved?: (call: ProxyCall<Req>) => Promise<void>;
  /** Whether an answer may be stored (one that can be replayed); everything when absent. */
  readonly admit?: (answer: CachedAnswer) => boolean;
}
