/**
 * HTTP to one upstream through an undici Pool (keep-alive, bounded connections). Every call
 * takes the attempt's AbortSignal: aborting it destroys the socket at once, which is how a
 * race loser or a departed client stops costing the provider anything.
 */
import { context as otelApi, propagation, type Context } from '@opentelemetry/api';
import { Pool, type Dispatcher } from 'undici';
import type { ProbeConfig } from '../config/index.js';
import { parseRetryAfter } from '../routing/policy/index.js';
import { statusError, toUpstreamError, UpstreamError } from './errors.js';

export interface UpstreamClientOptions {
  baseUrl: string;
  /** Auth and extra headers sent on every request (built once, never logged). */
  headers: Record<string, string>;
  connections: number;
  timeoutMs: number;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  signal: AbortSignal;
  otelContext?: Context | undefined;
}

const MAX_ERROR_BODY = 16 * 1024;

export class UpstreamClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: readonly string[];

  constructor({ baseUrl, headers, connections, timeoutMs }: UpstreamClientOptions) {
    this.secrets = secretsOf(headers);
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

  /**
   * Sends the request; resolves with a 2xx response whose body the caller must consume or
   * destroy. Non-2xx answers are read (bounded) and thrown as UpstreamError.
   */
  async send(req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    let headers = this.headers;
    if (req.otelContext !== undefined && req.otelContext !== otelApi.active()) {
      headers = { ...headers };
      propagation.inject(req.otelContext, headers);
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: req.method,
        path: this.basePath + req.path,
        headers,
        body: req.body ?? null,
        signal: req.signal,
      });
    } catch (err) {
      throw toUpstreamError(err, req.signal);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    // An upstream may echo what it was sent (keys included) in its error: never pass that on.
    const text = scrub(await readBounded(res.body, MAX_ERROR_BODY).catch(() => ''), this.secrets);
    const retryAfter = res.headers['retry-after'];
    const retryAfterMs = parseRetryAfter(
      Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      Date.now(),
    );
    throw statusError(
      res.statusCode,
      retryAfterMs,
      res.statusCode < 500 ? openAiErrorBody(text) : undefined,
    );
  }

  /** Sends and parses a JSON answer. */
  async json(req: UpstreamRequest): Promise<{ text: string; value: unknown }> {
    const res = await this.send(req);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw toUpstreamError(err, req.signal);
    }
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
    signal: AbortSignal,
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
}

async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

/** The values of the configured headers (auth, custom) and bearer tokens: all secrets. */
function secretsOf(headers: Record<string, string>): string[] {
  const out = new Set<string>();
  for (const value of Object.values(headers)) {
    for (const v of [value, value.replace(/^Bearer\s+/i, '')]) if (v.length >= 8) out.add(v);
  }
  // Longest first, so 'Bearer K' is replaced whole before K alone.
  return [...out].sort((a, b) => b.length - a.length);
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

/** An upstream 4xx body re-encoded in OpenAI's error shape (message only; nothing else kept). */
function openAiErrorBody(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as {
      error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown };
    };
    const e = parsed.error;
    if (e === undefined || typeof e.message !== 'string') return undefined;
    return JSON.stringify({
      error: {
        message: e.message.slice(0, 2_000),
        type: typeof e.type === 'string' ? e.type : 'invalid_request_error',
        param: typeof e.param === 'string' ? e.param : null,
        code: typeof e.code === 'string' ? e.code : null,
      },
    });
  } catch {
    return undefined;
  }
}
