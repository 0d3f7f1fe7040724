/**
 * The fake upstream: a loopback node:http server speaking the OpenAI and Anthropic wire
 * formats, with latency and failure knobs that can be turned while it runs. Plain node:http,
 * no framework, because benchmarks measure the proxy against it and it must cost ~nothing.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { sleep } from '../tasks/timers.js';
import { anthropicApi, speaksAnthropic } from './anthropic.js';
import type { AnswerContext } from './api.js';
import {
  DEFAULT_MODELS,
  chunkDelayFor,
  planRequest,
  seededRandom,
  type ForcedFailure,
  type FakeUpstreamOptions,
} from './behaviour.js';
import { isRecord } from '../json.js';
import { EventLog, type FakeEvent } from './events.js';
import { Exchange } from './exchange.js';
import { openaiApi } from './openai.js';
import { perform } from './perform.js';

export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; the raw text when it did not parse; undefined when empty. */
  body: unknown;
  /** The body as it arrived. */
  text: string;
}

export interface FakeUpstream {
  /** 'http://127.0.0.1:PORT'; the OpenAI base URL is url + '/v1'. */
  readonly url: string;
  readonly port: number;
  readonly events: readonly FakeEvent[];
  /** Requests received so far. */
  readonly requests: number;
  /** Changes knobs at runtime (port and host are fixed once listening). */
  set(options: Partial<FakeUpstreamOptions>): void;
  /** The next `count` requests answer `status` (default 500) in their API's error shape. */
  failNext(count: number, status?: number, retryAfterSeconds?: number): void;
  /** The first event, past or future, matching `pred`; rejects after `timeoutMs` (5000). */
  waitFor(pred: (e: FakeEvent) => boolean, timeoutMs?: number): Promise<FakeEvent>;
  lastRequest(): RecordedRequest | undefined;
  /** Stops listening, drops every open connection, cancels pending waits. */
  close(): Promise<void>;
}

/** Starts a fake upstream; resolves once it is listening. */
export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const upstream = new FakeUpstreamServer(options);
  await upstream.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return upstream;
}

type Parsed = { ok: true; value: unknown } | { ok: false; raw: string };

function parseBody(raw: string): Parsed {
  if (raw.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, raw };
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

class FakeUpstreamServer implements FakeUpstream {
  url = '';
  port = 0;
  requests = 0;
  private options: FakeUpstreamOptions;
  private random: () => number;
  private readonly log = new EventLog();
  private readonly live = new Set<Exchange>();
  private readonly forced: ForcedFailure[] = [];
  private last: RecordedRequest | undefined;
  private closing: Promise<void> | undefined;
  private readonly server: Server;

  constructor(options: FakeUpstreamOptions) {
    this.options = { ...options };
    this.random = seededRandom(options.seed ?? 1);
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch(() => res.destroy());
    });
  }

  get events(): readonly FakeEvent[] {
    return this.log.events;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.port = typeof address === 'object' && address !== null ? address.port : port;
        this.url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
        resolve();
      });
    });
  }

  set(options: Partial<FakeUpstreamOptions>): void {
    this.options = { ...this.options, ...options };
    if (options.seed !== undefined) this.random = seededRandom(options.seed);
  }

  failNext(count: number, status = 500, retryAfterSeconds?: number): void {
    const failure: ForcedFailure =
      retryAfterSeconds === undefined ? { status } : { status, retryAfterSeconds };
    for (let i = 0; i < count; i++) this.forced.push(failure);
  }

  waitFor(pred: (e: FakeEvent) => boolean, timeoutMs?: number): Promise<FakeEvent> {
    return this.log.waitFor(pred, timeoutMs);
  }

  lastRequest(): RecordedRequest | undefined {
    return this.last;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.log.close();
    for (const ex of this.live) ex.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    // NOTE: 'close' fires before libuv has released the listening and connection handles
    // (that happens at the end of the loop turn); one timer tick later they are gone, so
    // "closed" means nothing of this server is left in process.getActiveResourcesInfo().
    await sleep(1, new AbortController().signal);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = ++this.requests;
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const name = this.options.name ?? 'fake';
    const ex = new Exchange(res, { 'x-fake-upstream': name, 'x-request-id': `req_${id}` });
    this.live.add(ex);
    let stream = false;
    let announced = false;
    const note = (kind: FakeEvent['kind']): void => {
      const event = { kind, id, method, path, stream, chunksSent: ex.chunksSent, at: Date.now() };
      this.log.record(event);
      if (kind !== 'complete' && !this.closing) {
        const chunks = kind === 'disconnect' ? ` chunks=${ex.chunksSent}` : '';
        this.options.log?.(
          `fake-upstream ${name} ${kind} #${id} ${method} ${path} stream=${stream}${chunks}`,
        );
      }
    };
    res.once('close', () => {
      this.live.delete(ex);
      ex.abort();
      if (announced) note(res.writableFinished || ex.endedByServer ? 'complete' : 'disconnect');
    });

    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return; // the client left while sending; there is no request to speak of
    }
    const parsed = parseBody(raw);
    const body = parsed.ok ? parsed.value : parsed.raw;
    stream = isRecord(body) && body['stream'] === true;
    this.last = { path, headers: { ...req.headers }, body, text: raw };
    announced = true;
    note('request');
    if (ex.signal.aborted) return note('disconnect');

    await this.answer(ex, method, path, req.headers, parsed, id);
  }

  private async answer(
    ex: Exchange,
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    parsed: Parsed,
    id: number,
  ): Promise<void> {
    const opts = this.options;
    const api = speaksAnthropic(path, headers) ? anthropicApi : openaiApi;
    const route = api.route(method, path);
    if (route === undefined) {
      return ex.json(404, api.errorBody(404, `Unknown request URL: ${method} ${path}`));
    }
    if (opts.apiKey !== undefined && !api.authorized(headers, opts.apiKey)) {
      return ex.json(401, api.errorBody(401, 'Incorrect API key provided.'));
    }
    if (!parsed.ok) {
      return ex.json(400, api.errorBody(400, 'We could not parse the JSON body of your request.'));
    }
    const context: AnswerContext = {
      id,
      name: opts.name ?? 'fake',
      streamChunks: opts.streamChunks ?? 5,
      models: opts.models ?? DEFAULT_MODELS,
      now: Math.floor(Date.now() / 1000),
    };
    const answer = route({ body: parsed.value, headers }, context);
    if (answer.kind === 'reject') {
      return ex.json(answer.status, api.errorBody(answer.status, answer.message, answer));
    }
    const behaviour = opts.behaviour ?? 'ok';
    const plan = planRequest({
      behaviour,
      failRate: opts.failRate ?? 0,
      retryAfterSeconds: opts.retryAfterSeconds ?? 1,
      forced: this.forced.shift(),
      draw: this.random(),
    });
    const timing = {
      latencyMs: opts.latencyMs ?? 0,
      chunkDelayMs: chunkDelayFor(behaviour, opts.chunkDelayMs),
    };
    await perform(ex, api, plan, answer, timing);
  }
}
