/* global AbortController, AbortSignal, TextDecoder, console, fetch, process */
/**
 * Mixed traffic for the CI leak gate (test/e2e/leak-gate.sh), bounded in time and count:
 * parallel races (the slow upstream loses), streams read to the end, clients that leave
 * mid-stream and mid-request, cache hits (temperature 0, repeated prompts) and so Redis
 * writes, embeddings, condensed conversations, and requests that must fail (404, 400, 401).
 * Beside chat, the other inbound APIs: Responses (JSON, stream, a previous_response_id
 * follow-up read back by GET /v1/responses/{id}, a client leaving mid-stream) and Anthropic
 * Messages (JSON, a stream authenticated by x-api-key, a client leaving mid-stream).
 * Every scenario checks its answer; the run fails when one answered wrongly or when a kind
 * of traffic the gate relies on (a cache hit, a cut stream...) never happened.
 *
 * `node traffic.js --races N` instead sends N concurrent races and checks each is answered
 * (the negative control, where every race leaves a loser that ignores its cancellation).
 *
 * Env: E2E_PROXY_URL, E2E_API_KEY (never printed), E2E_TRAFFIC_SECONDS (45),
 * E2E_TRAFFIC_MAX_REQUESTS (4000), E2E_TRAFFIC_WORKERS (6).
 */
import { sleep } from '../../dist/tasks/timers.js';

const forever = new AbortController().signal;
const pause = (ms) => sleep(ms, forever);

const base = process.env.E2E_PROXY_URL;
const apiKey = process.env.E2E_API_KEY;
if (!base || !apiKey) {
  console.error('traffic: E2E_PROXY_URL and E2E_API_KEY are required');
  process.exit(2);
}
const seconds = Number(process.env.E2E_TRAFFIC_SECONDS ?? 45);
const maxRequests = Number(process.env.E2E_TRAFFIC_MAX_REQUESTS ?? 4000);
const workers = Number(process.env.E2E_TRAFFIC_WORKERS ?? 6);
/** Any single request slower than this is a failure (and cannot hold the run up). */
const REQUEST_TIMEOUT_MS = 15_000;

/** mulberry32: the same mix of scenarios on every run. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(20240611);
const pick = (list) => list[Math.floor(random() * list.length)];
let serial = 0;
const unique = () => `${Date.now().toString(36)}-${++serial}`;

const authed = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
const chat = (body, extra = {}) => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: authed,
  body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  ...extra,
});
const user = (content) => [{ role: 'user', content }];
const responses = (body, extra = {}) => ({
  method: 'POST',
  path: '/v1/responses',
  headers: authed,
  body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  ...extra,
});
/** Anthropic's SDKs and Claude Code send the key as x-api-key, with anthropic-version. */
const anthropicHeaders = {
  'x-api-key': apiKey,
  'anthropic-version': '2023-06-01',
  'content-type': 'application/json',
};
const messages = (body, extra = {}) => ({
  method: 'POST',
  path: '/v1/messages',
  headers: authed,
  body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 64, ...body }),
  ...extra,
});
const CACHED_PROMPTS = ['what is a proxy?', 'name a colour', 'count to three', 'say hi'];
const EMBED_INPUTS = ['alpha', 'beta', 'gamma', ['delta', 'epsilon'], 'zeta'];
const LONG_TURN =
  'Here is a long message about routing, caching and cancellation in a proxy that keeps ' +
  'every background task named, measured and leak-checked, repeated to use up tokens.';
function conversation(topic) {
  const messages = [{ role: 'system', content: 'You are terse.' }];
  for (let i = 0; i < 12; i++) {
    messages.push({
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `${topic} ${i}: ${LONG_TURN}`,
    });
  }
  messages.push({ role: 'user', content: `${topic}: and so?` });
  return messages;
}

async function readText(res) {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/**
 * Each scenario: a weight, a request, and a check of the answer (a string when wrong), given
 * the request it answers.
 */
const SCENARIOS = {
  race_json: {
    weight: 5,
    request: () => chat({ messages: user(`race ${unique()}`), temperature: 0.7 }),
    check: async (res, note) => {
      const body = JSON.parse(await readText(res));
      if (res.status !== 200) return `status ${res.status}`;
      if (typeof body.choices?.[0]?.message?.content !== 'string') return 'no message content';
      note(`provider:${res.headers.get('x-llm-proxy-provider')}`);
      return undefined;
    },
  },
  race_stream: {
    weight: 4,
    request: () =>
      chat({
        messages: user(`stream ${unique()}`),
        temperature: 0.7,
        stream: true,
        stream_options: { include_usage: true },
      }),
    check: async (res) => {
      const text = await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      if (!text.trimEnd().endsWith('data: [DONE]')) return 'stream did not end with [DONE]';
      return undefined;
    },
  },
  cached_json: {
    weight: 4,
    request: () => chat({ messages: user(pick(CACHED_PROMPTS)), temperature: 0 }),
    check: async (res, note) => {
      await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      note(`cache:${res.headers.get('x-llm-proxy-cache')}`);
      return undefined;
    },
  },
  cached_stream: {
    weight: 2,
    request: () => chat({ messages: user(pick(CACHED_PROMPTS)), temperature: 0, stream: true }),
    check: async (res, note) => {
      const text = await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      if (!text.trimEnd().endsWith('data: [DONE]')) return 'stream did not end with [DONE]';
      note(`cache:${res.headers.get('x-llm-proxy-cache')}`);
      return undefined;
    },
  },
  // The client reads the first chunk, then leaves: the proxy must cancel the winner's
  // upstream stream (client_gone) and settle every task.
  abort_mid_stream: {
    weight: 3,
    request: () => chat({ messages: user(`cut ${unique()}`), temperature: 0.7, stream: true }),
    abortAfterFirstChunk: true,
  },
  // The client leaves before any answer: while the race is still running (or, later, just
  // as the slow loser is being cancelled).
  abort_mid_request: {
    weight: 3,
    request: () => chat({ messages: user(`leave ${unique()}`), temperature: 0.7 }),
    abortAfterMs: () => 5 + Math.floor(random() * 60),
  },
  embeddings: {
    weight: 3,
    request: () => ({
      method: 'POST',
      path: '/v1/embeddings',
      headers: authed,
      body: JSON.stringify({ model: 'demo-embed', input: pick(EMBED_INPUTS) }),
    }),
    check: async (res, note) => {
      const body = JSON.parse(await readText(res));
      if (res.status !== 200) return `status ${res.status}`;
      if (!Array.isArray(body.data?.[0]?.embedding)) return 'no embedding';
      note(`cache:${res.headers.get('x-llm-proxy-cache')}`);
      return undefined;
    },
  },
  // Over demo-long's budget: condensed through the summariser, summaries cached by content.
  condensed: {
    weight: 2,
    request: () =>
      chat({
        model: 'demo-long',
        messages: conversation(pick(['ports', 'tasks'])),
        temperature: 0.7,
      }),
    check: async (res, note) => {
      await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      note(`condensed:${res.headers.get('x-llm-proxy-condensed') ?? 'no'}`);
      if (res.headers.has('x-llm-proxy-truncated')) note('truncated');
      return undefined;
    },
  },
  responses_json: {
    weight: 2,
    request: () => responses({ input: `respond ${unique()}`, temperature: 0.7 }),
    check: async (res, note) => {
      const body = JSON.parse(await readText(res));
      if (res.status !== 200) return `status ${res.status}`;
      if (body.object !== 'response' || body.status !== 'completed')
        return 'not a completed response';
      if (!Array.isArray(body.output) || body.output.length === 0) return 'no output';
      note(`provider:${res.headers.get('x-llm-proxy-provider')}`);
      return undefined;
    },
  },
  responses_stream: {
    weight: 2,
    request: () => responses({ input: `stream ${unique()}`, temperature: 0.7, stream: true }),
    check: async (res) => {
      const text = await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      if (!text.includes('event: response.completed')) return 'stream without response.completed';
      return undefined;
    },
  },
  // A second turn on the first's previous_response_id, then the second turn read back. On
  // gpt-4o-mini the fast upstream answers natively and keeps the conversation itself (the
  // proxy expands it only for the slow one); gpt-4.1-mini is translated for the slow
  // upstream alone, so the proxy's stored conversation is what carries the second turn.
  responses_follow_up: {
    weight: 2,
    request: () => {
      const model = pick(['gpt-4o-mini', 'gpt-4.1-mini']);
      return responses({ model, input: `remember ${unique()}`, temperature: 0.7 });
    },
    check: async (res, note, req) => {
      const first = JSON.parse(await readText(res));
      if (res.status !== 200) return `first turn: status ${res.status}`;
      const next = await send(
        responses({
          model: JSON.parse(req.body).model,
          input: 'and then?',
          temperature: 0.7,
          previous_response_id: first.id,
        }),
      );
      const second = JSON.parse(await readText(next));
      if (next.status !== 200) return `second turn: status ${next.status}`;
      if (second.previous_response_id !== first.id) return 'second turn lost previous_response_id';
      const got = await send({
        method: 'GET',
        path: `/v1/responses/${second.id}`,
        headers: authed,
      });
      const stored = JSON.parse(await readText(got));
      if (got.status !== 200) return `GET /v1/responses/{id}: status ${got.status}`;
      if (stored.id !== second.id) return 'GET /v1/responses/{id} answered another response';
      note(`chained:${next.headers.get('x-llm-proxy-provider')}`);
      return undefined;
    },
  },
  responses_abort_mid_stream: {
    weight: 1,
    request: () => responses({ input: `cut ${unique()}`, temperature: 0.7, stream: true }),
    abortAfterFirstChunk: true,
  },
  messages_json: {
    weight: 2,
    request: () => messages({ messages: user(`hello ${unique()}`), temperature: 0.7 }),
    check: async (res, note) => {
      const body = JSON.parse(await readText(res));
      if (res.status !== 200) return `status ${res.status}`;
      if (body.type !== 'message' || body.content?.[0]?.type !== 'text') return 'not a message';
      note(`provider:${res.headers.get('x-llm-proxy-provider')}`);
      return undefined;
    },
  },
  messages_stream: {
    weight: 2,
    request: () =>
      messages(
        { messages: user(`stream ${unique()}`), temperature: 0.7, stream: true },
        { headers: anthropicHeaders },
      ),
    check: async (res) => {
      const text = await readText(res);
      if (res.status !== 200) return `status ${res.status}`;
      if (!text.includes('event: message_stop')) return 'stream without message_stop';
      return undefined;
    },
  },
  messages_abort_mid_stream: {
    weight: 1,
    request: () =>
      messages(
        { messages: user(`cut ${unique()}`), temperature: 0.7, stream: true },
        { headers: anthropicHeaders },
      ),
    abortAfterFirstChunk: true,
  },
  unknown_model: {
    weight: 1,
    request: () => chat({ model: 'no-such-model', messages: user('hi') }),
    check: expectError(404),
  },
  invalid_body: {
    weight: 1,
    request: () => ({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: authed,
      body: pick(['{"model":', '{"model":"gpt-4o-mini"}', '[]']),
    }),
    check: expectError(400),
  },
  no_key: {
    weight: 1,
    request: () =>
      chat({ messages: user('hi') }, { headers: { 'content-type': 'application/json' } }),
    check: expectError(401),
  },
  list_models: {
    weight: 1,
    request: () => ({ method: 'GET', path: '/v1/models', headers: authed }),
    check: async (res) => {
      const body = JSON.parse(await readText(res));
      if (res.status !== 200) return `status ${res.status}`;
      return body.object === 'list' ? undefined : 'not an OpenAI list';
    },
  },
};

/** One more request of a scenario (a follow-up), bounded like the first. */
function send(req) {
  return fetch(`${base}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

function expectError(status) {
  return async (res) => {
    const body = JSON.parse(await readText(res));
    if (res.status !== status) return `status ${res.status}, expected ${status}`;
    return typeof body.error?.message === 'string' ? undefined : 'no OpenAI error shape';
  };
}

/** What the leak gate needs to have happened at least once; otherwise the run proves little. */
const MUST_SEE = [
  'race_json provider:fast',
  'cached_json cache:hit',
  'cached_stream cache:hit',
  'embeddings cache:hit',
  'condensed condensed:true',
  'abort_mid_stream aborted',
  'abort_mid_request aborted',
  'responses_json provider:fast',
  'responses_follow_up chained:fast',
  'responses_follow_up chained:slow',
  'responses_abort_mid_stream aborted',
  'messages_json provider:fast',
  'messages_abort_mid_stream aborted',
];

const stats = new Map();
const seen = new Map();
const failures = [];
const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

async function runOne(name) {
  const scenario = SCENARIOS[name];
  const req = scenario.request();
  const client = new AbortController();
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const signal = AbortSignal.any([client.signal, timeout]);
  const note = (what) => bump(seen, `${name} ${what}`);
  bump(stats, name);
  try {
    const sent = fetch(`${base}${req.path}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
    });
    if (scenario.abortAfterMs !== undefined) {
      const wait = scenario.abortAfterMs();
      const res = await Promise.race([sent, pause(wait).then(() => undefined)]);
      if (res === undefined) {
        client.abort();
        await sent.catch(() => undefined);
        note('aborted');
      } else {
        await readText(res);
        note(`answered:${res.status}`);
      }
      return;
    }
    const res = await sent;
    if (scenario.abortAfterFirstChunk) {
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      const reader = res.body.getReader();
      const first = await reader.read();
      if (first.done) throw new Error('stream ended before its first chunk');
      client.abort();
      await reader.cancel().catch(() => undefined);
      note('aborted');
      return;
    }
    const wrong = await scenario.check(res, note, req);
    if (wrong !== undefined) failures.push(`${name}: ${wrong}`);
  } catch (err) {
    if (client.signal.aborted) return note('aborted');
    failures.push(`${name}: ${timeout.aborted ? 'timed out' : String(err?.cause ?? err)}`);
  }
}

/** The negative control's load: N races at once, each of which must still be answered. */
async function races(n) {
  const t = Date.now();
  await Promise.all(Array.from({ length: n }, () => runOne('race_json')));
  console.log(`traffic: ${n} races in ${Date.now() - t} ms, ${failures.length} failed`);
  for (const f of failures) console.log(`  ${f}`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

if (process.argv[2] === '--races') {
  await races(Number(process.argv[3] ?? 3));
  process.exit();
}

const deck = Object.entries(SCENARIOS).flatMap(([name, s]) => Array(s.weight).fill(name));
const until = Date.now() + seconds * 1000;
let started = 0;

async function worker() {
  while (Date.now() < until && started < maxRequests) {
    started++;
    await runOne(pick(deck));
    await pause(10 + Math.floor(random() * 20));
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: workers }, worker));
const elapsed = ((Date.now() - t0) / 1000).toFixed(1);

console.log(`traffic: ${started} requests in ${elapsed}s with ${workers} workers`);
for (const [name, n] of [...stats].sort()) console.log(`  ${name.padEnd(26)} ${n}`);
console.log('traffic: observed');
for (const [what, n] of [...seen].sort()) console.log(`  ${what.padEnd(44)} ${n}`);
const missing = MUST_SEE.filter((what) => !seen.has(what));
for (const what of missing) failures.push(`never observed: ${what}`);
if (failures.length > 0) {
  const counts = new Map();
  for (const f of failures) bump(counts, f);
  console.log(`traffic: FAILED (${failures.length})`);
  for (const [f, n] of counts) console.log(`  ${n} x ${f}`);
  process.exitCode = 1;
} else {
  console.log('traffic: OK, every answer as expected');
}
