import { describe, expect, it } from 'vitest';
import { cacheDecision, canonicalJson, forbidsCache, responseCacheKey } from './key.js';

const chat = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'hi' }],
  temperature: 0,
  max_tokens: 32,
};

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
  });

  it('leaves out undefined members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
});

describe('responseCacheKey', () => {
  it('is a sha256 hex digest', () => {
    expect(responseCacheKey('chat', chat)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable across key order, nested objects included', () => {
    const reordered = {
      max_tokens: 32,
      temperature: 0,
      messages: [{ content: 'hi', role: 'user' }],
      model: 'gpt-4o-mini',
    };
    expect(responseCacheKey('chat', reordered)).toBe(responseCacheKey('chat', chat));
  });

  it('ignores the stream flag: streamed and plain requests share one entry', () => {
    const streamed = { ...chat, stream: true, stream_options: { include_usage: true } };
    expect(responseCacheKey('chat', streamed)).toBe(responseCacheKey('chat', chat));
  });

  it('ignores fields that describe the caller rather than the answer', () => {
    const caller = {
      user: 'u-1',
      safety_identifier: 'hashed-user',
      prompt_cache_key: 'tenant-7',
      metadata: { a: '1' },
      store: false,
    };
    expect(responseCacheKey('chat', { ...chat, ...caller })).toBe(responseCacheKey('chat', chat));
  });

  it('keys stream_options members other than include_usage and include_obfuscation', () => {
    const delivery = { include_usage: true, include_obfuscation: false };
    const plain = responseCacheKey('chat', chat);
    expect(responseCacheKey('chat', { ...chat, stream_options: delivery })).toBe(plain);
    expect(
      responseCacheKey('chat', { ...chat, stream_options: { ...delivery, chunk_size: 8 } }),
    ).not.toBe(plain);
  });

  it('keeps a member named __proto__ in the key', () => {
    const body = JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(responseCacheKey('chat', { ...chat, ...body })).not.toBe(responseCacheKey('chat', chat));
  });

  it('treats a null field as absent', () => {
    expect(responseCacheKey('chat', { ...chat, seed: null })).toBe(responseCacheKey('chat', chat));
  });

  it.each([
    ['model', { model: 'gpt-4o' }],
    ['messages', { messages: [{ role: 'user', content: 'hello' }] }],
    [
      'message order',
      {
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'hi' },
        ],
      },
    ],
    ['temperature', { temperature: 0.5 }],
    ['max_tokens', { max_tokens: 33 }],
    ['tools', { tools: [{ type: 'function', function: { name: 'f' } }] }],
    ['seed', { seed: 7 }],
    ['stop', { stop: ['\n'] }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['n', { n: 2 }],
    ['logprobs', { logprobs: true, top_logprobs: 2 }],
    ['modalities', { modalities: ['text', 'audio'] }],
    ['audio', { audio: { voice: 'alloy', format: 'wav' } }],
    ['reasoning_effort', { reasoning_effort: 'high' }],
    ['verbosity', { verbosity: 'low' }],
    ['prediction', { prediction: { type: 'content', content: 'x' } }],
    ['web_search_options', { web_search_options: { search_context_size: 'low' } }],
    ['function_call', { function_call: 'none' }],
    ['service_tier', { service_tier: 'flex' }],
    ["a provider's own field (vLLM top_k)", { top_k: 5 }],
    ['a field no one has heard of yet', { brand_new_knob: { level: 3 } }],
  ])('changes when %s changes', (_name, change) => {
    expect(responseCacheKey('chat', { ...chat, ...change })).not.toBe(
      responseCacheKey('chat', chat),
    );
  });

  it('keys embeddings on every field but user, unknown ones included', () => {
    const emb = { model: 'text-embedding-3-small', input: ['a', 'b'] };
    const key = responseCacheKey('embeddings', emb);
    expect(responseCacheKey('embeddings', { ...emb, user: 'x' })).toBe(key);
    expect(responseCacheKey('embeddings', { ...emb, input: ['b', 'a'] })).not.toBe(key);
    expect(responseCacheKey('embeddings', { ...emb, dimensions: 256 })).not.toBe(key);
    expect(responseCacheKey('embeddings', { ...emb, encoding_format: 'base64' })).not.toBe(key);
    expect(responseCacheKey('embeddings', { ...emb, input_type: 'query' })).not.toBe(key);
  });

  it('never collides between chat and embeddings bodies with the same fields', () => {
    const body = { model: 'm' };
    expect(responseCacheKey('chat', body)).not.toBe(responseCacheKey('embeddings', body));
  });
  it('keeps the kind apart from a body member named kind', () => {
    const body = { model: 'm', input: 'x' };
    expect(responseCacheKey('chat', { ...body, kind: 'embeddings' })).not.toBe(
      responseCacheKey('embeddings', body),
    );
  });
});

/** A chat body as a client wrote it, parsed the way the proxy parses it. */
const sent = (text: string) =>
  responseCacheKey('chat', JSON.parse(text) as Record<string, unknown>, { text });
const withSeed = (seed: string) =>
  sent(`{"model":"m","temperature":0,"seed":${seed},"messages":[{"role":"user","content":"hi"}]}`);

describe('responseCacheKey: numbers past what a double holds', () => {
  it.each([
    ['9007199254740993', '9007199254740992'],
    ['12345678901234567891', '12345678901234567890'],
    ['-9007199254740993', '-9007199254740992'],
    ['9007199254740992', '9007199254740992.0'],
    ['1e400', '-1e400'],
  ])('keys %s apart from %s, which parse alike', (a, b) => {
    expect(withSeed(a)).not.toBe(withSeed(b));
  });

  it('keys a fraction or an exponent by its double, which is what upstream parses too', () => {
    expect(withSeed('0.30000000000000001')).toBe(withSeed('0.3'));
    expect(withSeed('1e3')).toBe(withSeed('1000'));
  });

  it('keys a precise number by its text wherever it is (a uint64 bound in a tool schema)', () => {
    const tool = (max: string) =>
      sent(
        `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f",` +
          `"parameters":{"type":"object","properties":{"n":{"type":"integer","maximum":${max}}}}}}]}`,
      );
    expect(tool('18446744073709551615')).not.toBe(tool('18446744073709551614'));
  });

  it('keeps the same key for the same exact number in a different key order', () => {
    expect(sent('{"seed":9007199254740993,"model":"m","n":1}')).toBe(
      sent('{ "n" : 1 , "model":"m", "seed" : 9007199254740993 }'),
    );
  });

  it("gives today's key when every number survives parsing, however it is written", () => {
    const text =
      '{"model":"m","temperature":0.0,"top_p":1.50,"frequency_penalty":1e-5,"max_tokens":32,' +
      '"seed":9007199254740991,"logit_bias":{"50256":-100},"messages":[{"role":"user",' +
      '"content":"call 12345678901234567891, [1e400] now"}]}';
    expect(sent(text)).toBe(responseCacheKey('chat', JSON.parse(text) as Record<string, unknown>));
  });

  it("gives today's key to large doubles written as doubles (parsed again, none kept)", () => {
    const text = '{"model":"m","seed":1e300,"top_k":2.5e20,"x":-1.7e308,"y":1e-400}';
    expect(sent(text)).toBe(responseCacheKey('chat', JSON.parse(text) as Record<string, unknown>));
  });

  it('follows the parse for a repeated member: the last one counts', () => {
    expect(sent('{"model":"m","seed":9007199254740993,"seed":7}')).toBe(
      sent('{"model":"m","seed":7}'),
    );
    expect(sent('{"model":"m","seed":7,"seed":9007199254740993}')).toBe(
      sent('{"model":"m","seed":9007199254740993}'),
    );
  });

  it('leaves the fields that do not decide the answer out, exact numbers or not', () => {
    expect(sent('{"model":"m","seed":9007199254740993,"user":"a","stream":true}')).toBe(
      sent('{"model":"m","seed":9007199254740993}'),
    );
  });

  it('keeps a member named __proto__ when keying exact numbers', () => {
    expect(sent('{"model":"m","seed":9007199254740993,"__proto__":{"x":1}}')).not.toBe(
      sent('{"model":"m","seed":9007199254740993}'),
    );
  });
});

describe('responseCacheKey: client scope', () => {
  it('keys the same body apart for two client scopes', () => {
    expect(responseCacheKey('chat', chat, { scope: 'scope-a' })).not.toBe(
      responseCacheKey('chat', chat, { scope: 'scope-b' }),
    );
  });

  it('gives the shared key (no scope) apart from every scoped one', () => {
    expect(responseCacheKey('chat', chat, { scope: 'scope-a' })).not.toBe(
      responseCacheKey('chat', chat),
    );
  });

  it('keeps a body member named scope apart from the client scope', () => {
    expect(responseCacheKey('chat', { ...chat, scope: 'scope-a' })).not.toBe(
      responseCacheKey('chat', chat, { scope: 'scope-a' }),
    );
  });
});

describe('forbidsCache', () => {
  it.each([
    ['no-cache', true],
    ['No-Store', true],
    ['max-age=0, no-cache', true],
    ['no-cache="set-cookie"', true],
    ['max-age=60', false],
    ['no-transform', false],
    ['x-no-cache', false],
  ])('Cache-Control %j -> %s', (value, expected) => {
    expect(forbidsCache(value)).toBe(expected);
  });
});

describe('cacheDecision', () => {
  const decide = (
    body: Record<string, unknown>,
    headers: { cacheControl?: string; optIn?: string } = {},
    cacheNonDeterministic = false,
  ) => cacheDecision({ body, headers, cacheNonDeterministic });

  it('looks up a chat request at temperature 0', () => {
    expect(decide(chat)).toBe('lookup');
  });

  it('bypasses a chat request without temperature (provider default 1 samples)', () => {
    const { temperature: _t, ...sampled } = chat;
    expect(decide(sampled)).toBe('bypass');
  });

  it('bypasses a sampled chat request', () => {
    expect(decide({ ...chat, temperature: 0.7 })).toBe('bypass');
  });

  it('looks up a sampled single-choice request that opts in with x-llm-proxy-cache: use', () => {
    expect(decide({ ...chat, temperature: 0.7 }, { optIn: 'use' })).toBe('lookup');
    expect(decide({ ...chat, temperature: 0.7, n: 1 }, { optIn: ' USE ' })).toBe('lookup');
  });

  it('does not let the opt-in cache a multi-choice sampled request', () => {
    expect(decide({ ...chat, temperature: 0.7, n: 3 }, { optIn: 'use' })).toBe('bypass');
  });

  it('looks up sampled requests when cacheNonDeterministic is configured', () => {
    expect(decide({ ...chat, temperature: 1 }, {}, true)).toBe('lookup');
  });

  it('treats embeddings as deterministic', () => {
    expect(decide({ model: 'e', input: 'text' })).toBe('lookup');
    expect(
      cacheDecision({ kind: 'embeddings', body: {}, headers: {}, cacheNonDeterministic: false }),
    ).toBe('lookup');
  });

  it('bypasses a chat with store: true, which must reach upstream to be stored there', () => {
    expect(decide({ ...chat, store: true })).toBe('bypass');
    expect(decide({ ...chat, store: true, temperature: 0.7 }, { optIn: 'use' }, true)).toBe(
      'bypass',
    );
    expect(decide({ ...chat, store: false })).toBe('lookup');
  });

  it('bypasses on Cache-Control no-cache or no-store, whatever else applies', () => {
    expect(decide(chat, { cacheControl: 'No-Cache' })).toBe('bypass');
    expect(decide({ model: 'e', input: 'x' }, { cacheControl: 'private, no-store' })).toBe(
      'bypass',
    );
    expect(decide(chat, { cacheControl: 'no-store', optIn: 'use' }, true)).toBe('bypass');
  });
});
