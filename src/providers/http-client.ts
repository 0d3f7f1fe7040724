/**
 * HTTP to one upstream through an undici Pool (keep-alive, bounded connections). Every call
 * takes the try's cancel signal: aborting it destroys the socket at once, which is how a
 * race loser or a departed client stops costing the provider anything.
 */
import { context as otelApi, propagation, type Context } from '@opentelemetry/api';
import { Pool } from './undici.js';
import type { ProbeConfig } from '../config/index.js';
import { isRecord, parseRecord } from '../json.js';
import {
  parseRetryAfter,
  statusError,
  toUpstreamError,
  UpstreamError,
  type ClientErrorBody,
} from '../upstream/index.js';
import { UpstreamHandler, type UpstreamBody } from './upstream-response.js';
import { merged } from '../objects.js';
import { createScrubber, type Scrub } from './scrub.js';
import type { CancelSignal } from '../tasks/cancellation.js';

export interface UpstreamClientOptions {
  baseUrl: string;
  /** Auth and extra headers sent on every request (built once, never logged). */
  headers: Record<string, string>;
  connections: number;
  timeoutMs: number;
  /** The largest 2xx answer read whole; default MAX_ANSWER_BYTES. */
  maxAnswerBytes?: number;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  signal: CancelSignal;
  otelContext?: Context | undefined;
  /** Headers for this call (a passed-through API's own, e.g. anthropic-beta), over the pool's. */
  headers?: Readonly<Record<string, string>> | undefined;
}

export class UpstreamClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly scrub: Scrub;

  private readonly maxAnswerBytes: number | undefined;

  constructor({ baseUrl, headers, connections, timeoutMs, maxAnswerBytes }: UpstreamClientOptions) {
    this.maxAnswerBytes = maxAnswerBytes;
    this.scrub = createScrubber(secretsOf(headers));
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections,
      keepAliveTimeout: 30_000,
      // Time to response headers, and the longest silence between body chunks.
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
    });
    this.headers = {
      ...headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
  }

  /** Sends and returns the 2xx body as text; a non-2xx answer is thrown as UpstreamError. */
  text(req: UpstreamRequest): Promise<string> {
    return this.dispatch<string>(req, false);
  }

  /**
   * Sends and resolves at 2xx response headers with the body, which the caller must read to
   * its end or close. A non-2xx answer is thrown as UpstreamError.
   */
  stream(req: UpstreamRequest): Promise<UpstreamBody> {
    return this.dispatch<UpstreamBody>(req, true);
  }

  /** Sends and parses a JSON answer. */
  async json(req: UpstreamRequest): Promise<{ text: string; value: unknown }> {
    const text = await this.text(req);
    try {
      return { text, value: JSON.parse(text) };
    } catch {
      throw new UpstreamError('invalid_response', 'invalid JSON from provider');
    }
  }

  /**
   * A cheap liveness probe shared by the adapters: a 1-token completion on `completionPath`
   * when the provider's probe is configured so, else its models list.
   */
  async probe(
    probe: ProbeConfig | undefined,
    completionPath: string,
    signal: CancelSignal,
  ): Promise<void> {
    if (probe?.kind === 'completion' && probe.model !== undefined) {
      const body = JSON.stringify({
        model: probe.model,
        max_tokens: 1,
        messages: [{ role: 'user', content: 'ping' }],
      });
      await this.json({ method: 'POST', path: completionPath, body, signal });
      return;
    }
    await this.json({ method: 'GET', path: '/models', signal });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /**
   * NOTE: not an async function: every caller awaits it in one, so a throw here rejects the
   * same, and it saves a promise and a resumption per call. Rejections are classified as the
   * `try { await } catch` did, in a rejection handler.
   */
  private dispatch<T extends string | UpstreamBody>(
    req: UpstreamRequest,
    stream: boolean,
  ): Promise<T> {
    const signal = req.signal;
    if (signal.aborted) return Promise.reject(toUpstreamError(signal.reason, signal));
    let headers = req.headers === undefined ? this.headers : merged(this.headers, req.headers);
    if (req.otelContext !== undefined && req.otelContext !== otelApi.active()) {
      headers = merged(headers, {}); // a copy: inject writes traceparent into it
      propagation.inject(req.otelContext, headers);
    }
    return new Promise<T>((resolve, reject) => {
      const handler = new UpstreamHandler<T>(
        stream,
        signal,
        this.failed,
        { resolve, reject },
        this.maxAnswerBytes,
      );
      this.pool.dispatch(
        { method: req.method, path: this.basePath + req.path, headers, body: req.body ?? null },
        handler,
      );
    }).then(undefined, (err: unknown) => {
      throw toUpstreamError(err, signal);
    });
  }

  // An upstream may echo what it was sent (keys included) in its error: never pass that on.
  // No upstream header is passed on: Retry-After is read as a number. What a 5xx says is kept
  // only when it is JSON (an API's own error, for the all-failed summary), not a proxy's
  // HTML error page; it never makes a request fault (only 400/413/422 do).
  private readonly failed = (
    status: number,
    retryAfter: string | undefined,
    body: string,
  ): UpstreamError =>
    statusError(
      status,
      parseRetryAfter(retryAfter, Date.now()),
      status < 500 || parseRecord(body) !== undefined ? clientErrorOf(body, this.scrub) : undefined,
    );
}

/** The values of the configured headers (auth, custom) and bearer tokens: all secrets. */
function secretsOf(headers: Record<string, string>): Set<string> {
  const out = new Set<string>();
  for (const value of Object.values(headers)) {
    out.add(value);
    out.add(value.replace(/^Bearer\s+/i, ''));
  }
  return out;
}

/**
 * What an upstream 4xx body says, in OpenAI's error shape whatever shape it came in, so a
 * 400/413/422 about the request reaches the client with the upstream's own words instead of
 * failing over (every provider would refuse the same request). Shapes understood:
 * `{error: {message, type?, param?, code?}}` (OpenAI, Anthropic, Groq, llama.cpp),
 * `{error: "..."}`, `{message, type?, param?, code?}` (vLLM), `{detail: ...}` (FastAPI-based
 * servers), else the body as text. Only message, type, param and code are kept, each
 * scrubbed of keys once decoded (scrubbing the raw text would miss a key written `sk-a\/b`).
 * Empty bodies give undefined (the status line answers).
 */
export function clientErrorOf(text: string, scrub: Scrub): ClientErrorBody | undefined {
  const parsed = parseRecord(text);
  let message = text.trim();
  let fields: ErrorFields = {};
  if (parsed !== undefined) {
    const { error, detail } = parsed;
    if (isRecord(error) && typeof error.message === 'string') {
      message = error.message;
      fields = error;
    } else if (typeof error === 'string') {
      message = error;
    } else if (typeof parsed.message === 'string') {
      message = parsed.message;
      fields = parsed;
    } else if (detail !== undefined) {
      message = typeof detail === 'string' ? detail : JSON.stringify(detail);
    }
  }
  if (message === '') return undefined;
  const optional = (v: unknown): string | null => (typeof v === 'string' ? scrub(v) : null);
  return {
    // Cut after scrubbing: a cut first could leave the head of a key that no longer matches.
    message: scrub(message).slice(0, 2_000),
    type: optional(fields.type) ?? 'invalid_request_error',
    param: optional(fields.param),
    code: optional(fields.code),
  };
}

interface ErrorFields {
  type?: unknown;
  param?: unknown;
  code?: unknown;
}
