/**
 * An upstream that echoes the key it was sent, but not verbatim: PHP's `\/`, `\u00xx`
 * escapes, another case, base64, percent- or hex-encoding, plain text. Whatever the form, the
 * client gets the upstream's words (they are about its request) and never the key, in any of
 * those forms, in its body or headers; nor do the proxy's logs and spans hold it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

/** A `/` (PHP escapes it), a `+` (percent- and base64-sensitive), both cases, a distinct core. */
const KEY = 'sk-test/ESCAPEDKEY+7Hq2b9Zx4Lw0';
const ANT_KEY = 'sk-ant/ESCAPEDANT+3Jr8c1Yv6Mn5';
const PROXY_KEY = 'pk-escaped-proxy-key-1';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const hex = (s: string): string => Buffer.from(s).toString('hex');
const uEscape = (s: string): string =>
  [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
const percentAll = (s: string): string =>
  [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const phpJson = (v: unknown): string => JSON.stringify(v).replaceAll('/', '\\/');
const openAiError = (message: string, extra: Record<string, string> = {}): unknown => ({
  error: { message, type: 'invalid_request_error', param: null, code: null, ...extra },
});

/**
 * The part of a key's base64 that does not depend on the bytes around it, for each of the
 * three offsets it can start at inside a longer text (this test's own derivation).
 */
function base64Cores(key: string): string[] {
  const out: string[] = [];
  for (let a = 0; a < 3; a++) {
    const enc = b64('\0'.repeat(a) + key);
    const core = enc.slice(Math.ceil((a * 8) / 6), Math.floor(((a + key.length) * 8) / 6));
    out.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return out;
}

/** Every form of `key` the client must not see, compared case-insensitively. */
function leakForms(key: string): string[] {
  const core = /[A-Z]{6,}/.exec(key)![0];
  return [
    key,
    core,
    key.replaceAll('/', '\\/'),
    uEscape(key),
    encodeURIComponent(key),
    percentAll(key),
    hex(key),
    b64(key),
    ...base64Cores(key),
  ];
}

function leaksIn(text: string, key: string): string[] {
  const lower = text.toLowerCase();
  return leakForms(key).filter((f) => lower.includes(f.toLowerCase()));
}

/** One way an upstream can echo the key in a 400; `mark` is the part that must survive. */
interface Form {
  contentType: string;
  body: (key: string, mark: string) => string;
}

const FORMS: Record<string, Form> = {
  'json, slashes escaped (PHP)': {
    contentType: 'application/json',
    body: (key, mark) =>
      phpJson(openAiError(`Invalid key ${key}. ${mark}`, { param: key, code: `bad:${key}` })),
  },
  'json, every character \\u-escaped': {
    contentType: 'application/json',
    body: (key, mark) =>
      `{"error":{"message":"Invalid key ${uEscape(key)}. ${mark}","type":"${uEscape(key)}",` +
      `"param":"${uEscape(key)}","code":"${uEscape(key)}"}}`,
  },
  'json, some characters \\u-escaped': {
    contentType: 'application/json',
    body: (key, mark) =>
      JSON.stringify(openAiError(`Invalid key ${key}. ${mark}`)).replace(key, () =>
        key.replace(/[st/]/g, (c) => uEscape(c)),
      ),
  },
  'json, the key escaped twice inside the message': {
    contentType: 'application/json',
    body: (key, mark) => JSON.stringify(openAiError(`Invalid key ${uEscape(key)}. ${mark}`)),
  },
  'json, lower-cased': {
    contentType: 'application/json',
    body: (key, mark) => JSON.stringify(openAiError(`Invalid key ${key.toLowerCase()}. ${mark}`)),
  },
  'json, upper-cased': {
    contentType: 'application/json',
    body: (key, mark) => JSON.stringify(openAiError(`INVALID KEY ${key.toUpperCase()}. ${mark}`)),
  },
  'json, FastAPI detail list': {
    contentType: 'application/json',
    body: (key, mark) => phpJson({ detail: [{ loc: ['header', key], msg: mark }] }),
  },
  'plain text': {
    contentType: 'text/plain',
    body: (key, mark) => `Invalid key ${key}. Lower ${key.toLowerCase()}. ${mark}`,
  },
  'plain text with JSON escapes': {
    contentType: 'text/plain',
    body: (key, mark) => `Invalid key ${key.replace('s', '\\u0073').replace('/', '\\/')}. ${mark}`,
  },
  'base64 at each of the three offsets, standard and url-safe': {
    contentType: 'text/plain',
    body: (key, mark) =>
      [
        `a=${b64(`Bearer ${key}`)}`,
        `b=${b64(`x:Bearer ${key}!`)}`,
        `c=${b64(`xy:${key}`)}`,
        `d=${b64url(`Bearer ${key}`)}`,
        `e=${b64url(`x ${key}`)}`,
        `f=${b64url(`xy${key}z`)}`,
        `g=${b64(key).replace(/=+$/, '')}`,
        mark,
      ].join(' '),
  },
  'percent-encoded, either case of hex digits, and hex': {
    contentType: 'text/plain',
    body: (key, mark) =>
      `url=https://x.test/?key=${encodeURIComponent(key)}&k2=${encodeURIComponent(key).toLowerCase()}` +
      ` all=${percentAll(key).toUpperCase()} hex=${hex(key)} HEX=${hex(key).toUpperCase()} ${mark}`,
  },
};

interface Upstream {
  url: string;
  /** Ends the held-back Anthropic stream with its error event. */
  release(): void;
  close(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => resolve(JSON.parse(raw) as Record<string, unknown>));
  });
}

/** The last user message names the form of the 400 (OpenAI route) or of the stream error. */
function lastContent(body: Record<string, unknown>): string {
  const { content } = (body.messages as { content: unknown }[]).at(-1)!;
  // Anthropic's translation may send content as blocks.
  return typeof content === 'string' ? content : (content as { text: string }[])[0]!.text;
}

/**
 * An Anthropic stream whose error event's type is the key: at once, or (`midStream`) after a
 * first event, held back until `release` so the client has its first frame by then.
 */
function answerAnthropic(res: ServerResponse, key: string, midStream: boolean): () => void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const event = (name: string, data: unknown): string =>
    `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const error = event('error', { type: 'error', error: { type: key, message: `bad key ${key}` } });
  if (!midStream) {
    res.end(error);
    return () => undefined;
  }
  const message = { id: 'msg_1', model: 'claude', content: [], usage: { input_tokens: 1 } };
  res.write(event('message_start', { type: 'message_start', message }));
  return () => res.end(error);
}

async function startEchoingUpstream(): Promise<Upstream> {
  let release = (): void => undefined;
  const server = createServer((req, res) => {
    void readJson(req).then((body) => {
      const form = lastContent(body);
      if (req.url === '/v1/messages') {
        release = answerAnthropic(res, String(req.headers['x-api-key']), form === 'mid-stream');
        return;
      }
      const key = String(req.headers.authorization).replace(/^Bearer /, '');
      const { contentType, body: make } = FORMS[form]!;
      res.writeHead(400, { 'content-type': contentType });
      res.end(make(key, `upstream-note ${form.length}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    release: () => release(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a key echoed by an upstream in an encoded form never reaches the client', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });

  beforeAll(async () => {
    upstream = await startEchoingUpstream();
    const provider = (name: string, type: string, apiKey: string, model: string): unknown => ({
      name,
      type,
      baseUrl: `${upstream.url}/v1`,
      apiKey,
      models: [model],
    });
    proxy = await startProxy(
      {
        auth: { apiKeys: [PROXY_KEY] },
        providers: [
          provider('echo', 'openai', KEY, 'echo-model'),
          provider('ant', 'anthropic', ANT_KEY, 'ant-model'),
        ],
        routing: { healthCheck: { enabled: false } },
      },
      {},
      { tracer: tracerProvider.getTracer('escaped-key-test') },
    );
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.close();
    await tracerProvider.shutdown();
  });

  const post = async (model: string, content: string, stream = false): Promise<Response> =>
    fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
    });

  /** The response's headers and raw body, and the decoded error fields. */
  async function visible(res: Response): Promise<{ raw: string; message: string }> {
    const body = await res.text();
    const headers = JSON.stringify([...res.headers]);
    let fields = '';
    let message = '';
    try {
      const { error } = JSON.parse(body) as { error: Record<string, unknown> };
      fields = JSON.stringify(Object.values(error));
      message = String(error.message);
    } catch {
      // An SSE body: searched raw.
    }
    return { raw: `${headers}\n${body}\n${fields}`, message };
  }

  for (const name of Object.keys(FORMS)) {
    it(`passes on a 400 with the key as ${name} scrubbed, the rest intact`, async () => {
      for (const stream of [false, true]) {
        const res = await post('echo-model', name, stream);
        expect(res.status).toBe(400);
        const { raw, message } = await visible(res);
        expect(leaksIn(raw, KEY)).toEqual([]);
        expect(message).toContain(`upstream-note ${name.length}`);
        expect(message).toContain('[redacted]');
      }
    });
  }

  it('never shows an Anthropic stream error whose type is the key, before or after the first event', async () => {
    const before = await post('ant-model', 'first event', true);
    expect(before.status).toBe(502);
    const { raw } = await visible(before);
    expect(raw).toContain('stream error');
    expect(leaksIn(raw, ANT_KEY)).toEqual([]);

    const after = await post('ant-model', 'mid-stream', true);
    expect(after.status).toBe(200);
    const reader = after.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? '';
    expect(text).toContain('"role":"assistant"');
    upstream.release();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    expect(text).toContain('stream error');
    expect(leaksIn(text, ANT_KEY)).toEqual([]);
  });

  it('leaves no form of either key in the logs or spans', () => {
    const texts = [
      ...proxy.logs.map((line) => JSON.stringify(line)),
      ...exporter.getFinishedSpans().map((s) =>
        JSON.stringify({
          name: s.name,
          attributes: s.attributes,
          events: s.events,
          status: s.status,
        }),
      ),
    ];
    expect(texts.length).toBeGreaterThan(10);
    const leaks = texts.flatMap((t) => [...leaksIn(t, KEY), ...leaksIn(t, ANT_KEY)]);
    expect(leaks).toEqual([]);
  });
});
