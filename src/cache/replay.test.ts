import { describe, expect, it } from 'vitest';
import { replayAs, replayable, type Replay } from './replay.js';

const USAGE = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };
const HEAD = { id: 'chatcmpl-1', created: 1700000000, model: 'gpt-4o' };
const TOKEN = (token: string) => ({ token, logprob: -0.1, bytes: [1], top_logprobs: [] });

type Json = Record<string, unknown>;

function completion(choices: Json[], extra: Json = {}): Json {
  return {
    ...HEAD,
    object: 'chat.completion',
    choices,
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_1',
    ...extra,
  };
}

const answered = (message: Json, extra: Json = {}): Json => ({
  index: 0,
  message: { role: 'assistant', content: null, refusal: null, ...message },
  logprobs: null,
  finish_reason: 'stop',
  ...extra,
});

const chunk = (choices: Json[], extra: Json = {}): string =>
  JSON.stringify({ ...HEAD, object: 'chat.completion.chunk', choices, ...extra });
const delta = (d: Json, extra: Json = {}): Json => ({
  index: 0,
  delta: d,
  logprobs: null,
  finish_reason: null,
  ...extra,
});

const asStream = (body: Json, includeUsage = true): Replay | undefined =>
  replayAs({ body: JSON.stringify(body) }, { stream: true, includeUsage });
const asJson = (chunks: string[]): Replay | undefined =>
  replayAs({ chunks }, { stream: false, includeUsage: false });

function sse(replay: Replay | undefined): string[] {
  if (replay?.kind !== 'sse') throw new Error(`expected SSE, got ${JSON.stringify(replay)}`);
  return [...replay.chunks];
}
function json(replay: Replay | undefined): unknown {
  if (replay?.kind !== 'json') throw new Error(`expected JSON, got ${JSON.stringify(replay)}`);
  return JSON.parse(replay.body);
}

describe('a stored completion replayed as a stream, and back', () => {
  it.each([
    [
      'text with logprobs and annotations',
      answered(
        {
          content: 'Hi there',
          annotations: [
            { type: 'url_citation', url_citation: { url: 'https://x', start_index: 0 } },
          ],
        },
        { logprobs: { content: [TOKEN('Hi'), TOKEN(' there')], refusal: null } },
      ),
    ],
    [
      'a refusal with its logprobs',
      answered(
        { refusal: "I can't help with that." },
        { logprobs: { content: null, refusal: [TOKEN('I')] } },
      ),
    ],
    [
      'tool calls',
      answered(
        {
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } },
          ],
        },
        { finish_reason: 'tool_calls' },
      ),
    ],
    [
      'a legacy function_call',
      answered(
        { function_call: { name: 'f', arguments: '{}' } },
        { finish_reason: 'function_call' },
      ),
    ],
    ['reasoning text', answered({ content: 'four', reasoning_content: '2+2 is 4' })],
    ['empty content', answered({ content: '' }, { finish_reason: 'length' })],
  ])('keeps %s exactly', (_name, choice) => {
    const body = completion([choice]);
    expect(json(asJson(sse(asStream(body))))).toEqual(body);
  });

  it('keeps every choice of n > 1, in index order', () => {
    const body = completion([
      answered({ content: 'one' }),
      answered({ content: 'two' }, { index: 1 }),
    ]);
    expect(json(asJson(sse(asStream(body))))).toEqual(body);
  });

  it('puts system_fingerprint and service_tier on every chunk, as the API does', () => {
    const chunks = sse(asStream(completion([answered({ content: 'x' })]))).map(
      (c) => JSON.parse(c) as Json,
    );
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c).toMatchObject({ system_fingerprint: 'fp_1' });
    for (const c of chunks) expect(c).toMatchObject({ service_tier: 'default' });
  });

  it('ends with the usage chunk only when asked for', () => {
    const body = completion([answered({ content: 'x' })]);
    expect(sse(asStream(body, true)).at(-1)).toContain('"choices":[],"usage"');
    expect(sse(asStream(body, false)).join()).not.toContain('"usage"');
  });

  it.each([
    [
      'usage is asked for but none is stored',
      completion([answered({ content: 'x' })], { usage: undefined }),
    ],
    ['a message carries audio', completion([answered({ audio: { id: 'a', data: 'AAA' } })])],
    [
      'a message carries a field it does not know',
      completion([answered({ content: 'x', novel: 1 })]),
    ],
    [
      'a choice carries a field it does not know',
      completion([answered({ content: 'x' }, { stop_reason: 'eos' })]),
    ],
    [
      'the completion carries a field it does not know',
      completion([answered({ content: 'x' })], { prompt_filter_results: [] }),
    ],
    [
      'a tool call is not a function call',
      completion([
        answered({ tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'x', input: '' } }] }),
      ]),
    ],
  ])('declines (a miss) when %s', (_name, body) => {
    expect(asStream(body)).toBeUndefined();
  });

  it('treats an unknown field sent as null as absent', () => {
    const body = completion([answered({ content: 'x', reasoning: null }, { stop_reason: null })]);
    expect(sse(asStream(body))).not.toHaveLength(0);
  });

  it('replays a completion as JSON verbatim, whatever it carries', () => {
    const body = JSON.stringify(completion([answered({ audio: { id: 'a', data: 'AAA' } })]));
    expect(replayAs({ body }, { stream: false, includeUsage: false })).toEqual({
      kind: 'json',
      body,
    });
  });
});

describe('a stored stream assembled into one completion', () => {
  /** As the API streams a refusal asked with logprobs and include_usage (obfuscation on). */
  const refusalStream = [
    chunk([delta({ role: 'assistant', content: '', refusal: null })], {
      usage: null,
      obfuscation: 'x',
      system_fingerprint: 'fp_2',
      service_tier: 'default',
    }),
    chunk([delta({ refusal: 'I' }, { logprobs: { content: null, refusal: [TOKEN('I')] } })], {
      usage: null,
      obfuscation: 'yy',
    }),
    chunk(
      [delta({ refusal: " can't." }, { logprobs: { content: null, refusal: [TOKEN(" can't.")] } })],
      { usage: null },
    ),
    chunk([delta({}, { finish_reason: 'stop' })], { usage: null }),
    chunk([], { usage: USAGE, obfuscation: 'z' }),
  ];

  it('keeps the refusal, its logprobs, system_fingerprint, service_tier and usage', () => {
    expect(json(asJson(refusalStream))).toEqual({
      ...HEAD,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: "I can't." },
          logprobs: { content: null, refusal: [TOKEN('I'), TOKEN(" can't.")] },
          finish_reason: 'stop',
        },
      ],
      usage: USAGE,
      system_fingerprint: 'fp_2',
      service_tier: 'default',
    });
  });

  it('collects annotations sent in a delta of their own', () => {
    const annotation = { type: 'url_citation', url_citation: { url: 'https://x' } };
    const stream = [
      chunk([delta({ role: 'assistant', content: 'See x' })]),
      chunk([delta({ annotations: [annotation] })]),
      chunk([delta({}, { finish_reason: 'stop' })]),
      chunk([], { usage: USAGE }),
    ];
    expect(json(asJson(stream))).toMatchObject({
      choices: [{ message: { content: 'See x', annotations: [annotation] } }],
    });
  });

  it.each([
    ['no usage was streamed (the request did not ask)', refusalStream.slice(0, -1)],
    ['a choice never finished', [...refusalStream.slice(0, 3), refusalStream[4]!]],
    [
      'a delta carries audio',
      [
        chunk([delta({ audio: { id: 'a', data: 'A' } }, { finish_reason: 'stop' })]),
        chunk([], { usage: USAGE }),
      ],
    ],
    [
      "a chunk carries Azure's prompt_filter_results",
      [chunk([], { prompt_filter_results: [{}] }), ...refusalStream],
    ],
    ['a chunk is not an object', [...refusalStream, 'null']],
  ])('declines (a miss) when %s', (_name, chunks) => {
    expect(asJson(chunks)).toBeUndefined();
  });
});

describe('a stored stream replayed as a stream', () => {
  const text = [
    chunk([delta({ role: 'assistant', content: 'hi' })], { usage: null }),
    chunk([delta({}, { finish_reason: 'stop' })], { usage: null }),
  ];
  const usageChunk = chunk([], { usage: USAGE });
  const azureFilter = chunk([], { prompt_filter_results: [{ prompt_index: 0 }] });
  const replay = (chunks: string[], includeUsage: boolean) =>
    replayAs({ chunks }, { stream: true, includeUsage });

  it('drops only the usage-only chunk when usage is not asked for', () => {
    const spaced = JSON.stringify(JSON.parse(usageChunk), null, 1);
    expect(sse(replay([azureFilter, ...text, usageChunk], false))).toEqual([azureFilter, ...text]);
    expect(sse(replay([...text, spaced], false))).toEqual(text);
  });

  it('replays every chunk, verbatim, when usage is asked for and stored', () => {
    const chunks = [azureFilter, ...text, usageChunk];
    expect(sse(replay(chunks, true))).toEqual(chunks);
  });

  it('declines (a miss) when usage is asked for but the stored stream has none', () => {
    expect(replay([azureFilter, ...text], true)).toBeUndefined();
  });
});

describe('replayable', () => {
  it('stores a well-formed completion even when only its own shape can replay it', () => {
    const body = JSON.stringify(completion([answered({ audio: { id: 'a', data: 'AAA' } })]));
    expect(replayable({ body })).toBe(true);
  });

  it.each([
    ['a completion without choices', { body: '{"id":"x","choices":[]}' }],
    ['a choice without a message', { body: '{"choices":[{"message":null}]}' }],
    ['a body that is not JSON', { body: 'oops' }],
    ['no chunks', { chunks: [] }],
    ['a chunk that is not a chunk object', { chunks: [chunk([delta({})]), 'null'] }],
    ['a chunk choice without a delta', { chunks: ['{"choices":[{"index":0}]}'] }],
  ])('refuses %s', (_name, answer) => {
    expect(replayable(answer)).toBe(false);
  });
});
