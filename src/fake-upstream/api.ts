/**
 * What a wire format (OpenAI, Anthropic) supplies to the server: its routes as pure functions
 * from a parsed request to an answer, its auth rule and its error shape. The server owns the
 * sockets, timing and failure scripts, so each format is plain data in, plain data out.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** One SSE event, exactly as written to the socket (one res.write each). */
export interface SseFrame {
  /** Bytes only where a failure mode needs what a string cannot hold (invalid UTF-8). */
  readonly text: string | Uint8Array;
  /** Counts as a content chunk: chunk delays and mid-stream failures are placed by these. */
  readonly content: boolean;
}

export type Answer =
  | { readonly kind: 'json'; readonly body: unknown }
  | { readonly kind: 'stream'; readonly frames: readonly SseFrame[] }
  | {
      readonly kind: 'reject';
      readonly status: number;
      readonly message: string;
      /** OpenAI's `param` and `code` where the real API names them (the Responses API). */
      readonly param?: string | null;
      readonly code?: string | null;
    };

/** The field a refusal is about and its code, for error shapes that carry them. */
export interface ErrorDetail {
  readonly param?: string | null;
  readonly code?: string | null;
}

export interface AnswerContext {
  /** The request number, used in answer ids. */
  readonly id: number;
  readonly name: string;
  readonly streamChunks: number;
  readonly models: readonly string[];
  /** Unix seconds, for `created` fields. */
  readonly now: number;
}

export interface RouteRequest {
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
}

export type Route = (request: RouteRequest, context: AnswerContext) => Answer;

export interface WireApi {
  readonly name: 'openai' | 'anthropic';
  route(method: string, path: string): Route | undefined;
  authorized(headers: IncomingHttpHeaders, apiKey: string): boolean;
  errorBody(status: number, message: string, detail?: ErrorDetail): unknown;
  /** A stream that breaks SSE framing/JSON but still ends like a finished stream. */
  invalidStream(): readonly SseFrame[];
}

export function dataFrame(payload: unknown, content = false): SseFrame {
  return { text: `data: ${JSON.stringify(payload)}\n\n`, content };
}

export function namedFrame(event: string, payload: unknown, content = false): SseFrame {
  return { text: `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`, content };
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
