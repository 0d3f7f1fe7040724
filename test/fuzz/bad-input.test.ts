import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';
import { oddButValid } from './body-cases.js';
import { generateCases } from './cases.js';
import { FUZZ, type FuzzCase } from './kit.js';

const SEED = 20_240_611;
const CASES = 3_200;
const CONCURRENCY = 24;

let upstream: FakeUpstream;
let proxy: RunningProxy;
let stopped = false;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'fuzz', apiKey: 'sk-fuzz-upstream' });
  proxy = await startProxy({
    auth: { apiKeys: [FUZZ.key], adminToken: FUZZ.admin, metricsToken: FUZZ.metrics },
    server: { bodyLimitBytes: FUZZ.bodyLimit },
    providers: [
      {
        name: 'upstream',
        type: 'openai',
        baseUrl: `${upstream.url}/v1`,
        apiKey: 'sk-fuzz-upstream',
        models: ['gpt-4o-mini', 'text-embedding-3-small'],
      },
      { name: 'local', type: 'demo', models: ['demo-model'], latencyMs: 0 },
    ],
    routing: { healthCheck: { enabled: false } },
  });
});

afterAll(async () => {
  if (!stopped) await proxy.stop().catch(() => undefined);
  await upstream.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Writes raw bytes, reads until the server closes, and splits the HTTP answer. */
function sendRaw(port: number, raw: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(raw, 'latin1'));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: text.slice(split + 4) });
    });
  });
}

async function send(pool: Pool, c: FuzzCase): Promise<Answer> {
  if (c.raw !== undefined) return sendRaw(proxy.server.port, c.raw);
  // Chunks go out as a stream, so with Transfer-Encoding: chunked and no Content-Length.
  const body = Array.isArray(c.body) ? Readable.from(c.body, { objectMode: false }) : c.body;
  const res = await pool.request({
    method: c.method,
    path: c.path,
    headers: c.headers,
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** What is wrong with an answer to a case, or undefined when it is right. */
function check(c: FuzzCase, a: Answer): string | undefined {
  if (!c.expect.status.includes(a.status))
    return `status ${a.status}, wanted ${c.expect.status.join('|')}`;
  if (!String(a.headers['content-type']).startsWith('application/json'))
    return `content-type ${String(a.headers['content-type'])}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.text);
  } catch {
    return `body is not JSON: ${a.text.slice(0, 80)}`;
  }
  const error = (parsed as { error?: Record<string, unknown> }).error;
  if (error === undefined || Object.keys(parsed as object).length !== 1) return 'not {error: ...}';
  if (Object.keys(error).sort().join() !== 'code,message,param,type')
    return `error keys ${Object.keys(error).join()}`;
  const { message, type, param, code } = error;
  if (typeof message !== 'string' || message.length < 20)
    return `message too short: ${String(message)}`;
  if (/Invalid input\.?$/.test(message)) return `message does not say what to fix: ${message}`;
  if (typeof type !== 'string') return 'type is not a string';
  if (typeof code !== 'string') return 'code is not a string';
  if (param !== null && typeof param !== 'string') return 'param is neither string nor null';
  if (c.expect.code !== undefined && !c.expect.code.includes(code))
    return `code ${code}, wanted ${c.expect.code.join('|')}`;
  if (c.expect.param !== undefined) {
    if (typeof param !== 'string')
      return `param null, wanted ${c.expect.param.join('|')} (${message})`;
    const named = c.expect.param.some(
      (p) => param === p || param.startsWith(`${p}[`) || param.startsWith(`${p}.`),
    );
    if (!named) return `param ${param}, wanted ${c.expect.param.join('|')}`;
    if (!message.includes(param)) return `message does not name ${param}: ${message}`;
  }
  return undefined;
}

/** Runs every case with CONCURRENCY in flight; returns the problems found. */
async function run(
  cases: readonly FuzzCase[],
  judge: (c: FuzzCase, a: Answer) => string | undefined,
): Promise<string[]> {
  const pool = new Pool(proxy.url, { connections: CONCURRENCY });
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const where = `#${i} ${c.kind} ${c.method} ${c.path.slice(0, 60)}`;
      try {
        const problem = judge(c, await send(pool, c));
        if (problem !== undefined) failures.push(`${where}: ${problem}`);
      } catch (err) {
        failures.push(`${where}: no answer (${String(err)})`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await pool.close();
  if (process.env.FUZZ_DUMP !== undefined) console.log(failures.join('\n'));
  return failures;
}

/** A 200 answer: a chat completion, or an SSE stream ending with [DONE]. */
function checkOk(_c: FuzzCase, a: Answer): string | undefined {
  if (a.status !== 200) return `status ${a.status}: ${a.text.slice(0, 200)}`;
  if (String(a.headers['content-type']).startsWith('text/event-stream')) {
    return a.text.trimEnd().endsWith('data: [DONE]') ? undefined : 'stream without [DONE]';
  }
  const body = JSON.parse(a.text) as { choices?: unknown[] };
  return Array.isArray(body.choices) && body.choices.length > 0 ? undefined : 'no choices';
}

describe('fuzzing the proxy with malformed requests', () => {
  it('answers odd but valid requests (odd unicode, prototype-named fields, nesting at the limit) with 200', async () => {
    const failures = await run(oddButValid(SEED, 400), checkOk);
    expect(failures.slice(0, 30)).toEqual([]);
    expect(upstream.requests).toBeGreaterThan(0);
  });

  it(`answers ${CASES} malformed requests with OpenAI-shaped 4xx errors, never a 5xx, and leaks nothing`, async () => {
    const cases = generateCases(SEED, CASES);
    const kinds = new Set(cases.map((c) => c.kind));
    const started = performance.now();
    const failures = await run(cases, check);
    const seconds = (performance.now() - started) / 1000;

    expect(failures.slice(0, 30)).toEqual([]);
    expect(seconds).toBeLessThan(25);
    expect(kinds.size).toBeGreaterThanOrEqual(25);
    const status5xx = (await proxy.metricsText())
      .split('\n')
      .filter((l) => l.startsWith('llm_proxy_http_requests_total') && /status="5\d\d"/.test(l));
    expect(status5xx).toEqual([]);
    expect(
      await proxy.metric('llm_proxy_tasks_finished_total', {
        owner: 'http',
        task: 'request',
        outcome: 'failed',
      }),
    ).toBe(0);
    expect(proxy.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    stopped = true;
    await proxy.stop();
  });
});
