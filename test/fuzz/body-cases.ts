/**
 * Malformed JSON bodies: wrong types for every checked field, missing fields, broken and
 * truncated JSON, hostile nesting, odd unicode; and odd but valid bodies that must pass.
 */
import {
  E400,
  FUZZ,
  JSON_HEADERS,
  long,
  oddString,
  prng,
  validChat,
  validEmbeddings,
  type FuzzCase,
  type Rng,
} from './kit.js';

/** Values of the wrong type (or out of range) for every field the proxy checks. */
const CHAT_BAD: Record<string, readonly unknown[]> = {
  model: [1, true, null, {}, [], '', long(257), ['demo-model']],
  messages: [
    'hi',
    1,
    null,
    {},
    [],
    [1],
    ['x'],
    [{}],
    [null],
    [{ role: 'user' }],
    [{ role: 'bogus', content: 'x' }],
    [{ role: 'user', content: 5 }],
    [{ role: 'user', content: null }],
    [{ role: 'user', content: [{ type: 'image_url' }] }],
    [{ role: 'user', content: [{ type: 'text', text: 1 }] }],
    [{ role: 'user', content: [{ type: 'audio', data: 'x' }] }],
    [{ role: 'tool', content: 'x' }],
    [{ role: 'assistant', content: 'x', tool_calls: 'x' }],
    [{ role: 'assistant', tool_calls: [{ id: 1, type: 'function', function: { name: 'f' } }] }],
    [{ role: 'system', content: 'x', name: 7 }],
    [{ role: 'user', content: 'x' }, 'trailing'],
  ],
  stream: ['true', 1, 0, {}, []],
  stream_options: ['x', 1, true, [], { include_usage: 'yes' }],
  temperature: ['1', true, {}, [], -0.1, 2.5, 1e308],
  top_p: ['0.5', -1, 1.5, true],
  n: [0, -1, 1.5, '2', 129, true],
  max_tokens: [0, -5, 1.5, '100', true, {}],
  max_completion_tokens: [0, 2.5, 'many', []],
  stop: [1, true, {}, [1], ['a', 2], Array<string>(17).fill('x'), long(1001)],
  seed: [1.5, '1', true, {}],
  presence_penalty: [3, -3, '0', true],
  frequency_penalty: [2.1, -2.1, [], false],
  tools: [
    'x',
    1,
    {},
    [1],
    [{ type: 'x' }],
    [{ type: 'function' }],
    [{ type: 'function', function: {} }],
    [{ type: 'function', function: { name: '' } }],
  ],
  user: [1, true, {}, [], long(513)],
};

// No `null` for the optional fields: it means "not given", as it does in chat.
const EMBEDDINGS_BAD: Record<string, readonly unknown[]> = {
  model: [1, false, null, {}, '', long(300)],
  input: [1, true, null, {}, '', [], [{}], [1.5], [[1.5]], [null], [true], [['a']]],
  encoding_format: ['hex', 1, ''],
  dimensions: [0, -1, 1.5, '3'],
  user: [5, long(600)],
};

export function wrongTypes(r: Rng, embeddings: boolean): FuzzCase {
  const table = embeddings ? EMBEDDINGS_BAD : CHAT_BAD;
  const body = embeddings ? validEmbeddings(r) : validChat(r);
  const fields = Object.keys(table);
  const mutated = new Set<string>();
  const count = r.chance(0.7) ? 1 : r.int(2, 3);
  for (let i = 0; i < count; i++) {
    const field = r.pick(fields);
    mutated.add(field);
    body[field] = r.pick(table[field]!);
  }
  return {
    kind: embeddings ? 'wrong_types_embeddings' : 'wrong_types_chat',
    method: 'POST',
    path: embeddings ? '/v1/embeddings' : '/v1/chat/completions',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
    expect: { ...E400, param: [...mutated] },
  };
}

export function missingFields(r: Rng): FuzzCase {
  const body = validChat(r);
  const drop = r.pick([['model'], ['messages'], ['model', 'messages']]);
  for (const f of drop) delete body[f];
  const extra = r.int(0, 5);
  for (let i = 0; i < extra; i++) {
    const name = r.pick([
      '__proto__',
      'constructor',
      'prototype',
      oddString(r, 10),
      'x'.repeat(200),
    ]);
    // defineProperty: a plain `body.__proto__ = v` would set the prototype, not send the key.
    Object.defineProperty(body, name, {
      value: r.pick([1, 'x', null, { a: [1] }, oddString(r)]),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return {
    kind: 'missing_fields',
    method: 'POST',
    path: r.chance(0.8) ? '/v1/chat/completions' : '/v1/embeddings',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
    expect: { ...E400, param: ['model', 'messages', 'input'] },
  };
}

const BROKEN_JSON = [
  '',
  '{',
  '}',
  '{"model": "demo-model",}',
  "{'model': 'demo-model'}",
  '{model: "demo-model"}',
  '{"model": "demo-model" "messages": []}',
  '{"a":1}{"b":2}',
  'NaN',
  '{"model": NaN}',
  '{"model": undefined}',
  '{"model": "\\x41"}',
  '{"model": "\\ud800\\u"}',
  '[1, 2,]',
  '{"messages": [{"role": "user", "content": "hi"}]',
  '\u0000{}',
  'nul',
  '{"a": 01}',
  '{"a": .5}',
  '{"a": +1}',
  '{"a": "tab\there"}',
];

export function invalidJson(r: Rng): FuzzCase {
  let body: string | Buffer;
  const style = r.int(0, 3);
  if (style === 0) body = r.pick(BROKEN_JSON);
  else if (style === 1) {
    // Random bytes, invalid UTF-8 included, starting with a byte no JSON value starts with.
    const bytes = Buffer.alloc(r.int(1, 300));
    for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(0, 255);
    bytes[0] = r.pick([0x00, 0x01, 0x7e, 0x80, 0xc0, 0xfe, 0xff, 0x3c]);
    body = bytes;
  } else if (style === 2) {
    body = `{"model":"${oddString(r).replaceAll('}', ')')}`; // never closed
  } else {
    body = `{"model": "demo-model", "messages": [${'{"role":"user","content":"x"},'.repeat(r.int(1, 50))}]}`; // trailing comma
  }
  return {
    kind: 'invalid_json',
    method: 'POST',
    path: r.pick(['/v1/chat/completions', '/v1/embeddings']),
    headers: JSON_HEADERS,
    body,
    expect: { status: [400], code: ['invalid_json'] },
  };
}

export function truncatedJson(r: Rng): FuzzCase {
  const full = JSON.stringify(r.chance(0.8) ? validChat(r) : validEmbeddings(r));
  return {
    kind: 'truncated_json',
    method: 'POST',
    path: full.includes('"input"') ? '/v1/embeddings' : '/v1/chat/completions',
    headers: JSON_HEADERS,
    body: full.slice(0, r.int(0, full.length - 1)),
    expect: { status: [400], code: ['invalid_json'] },
  };
}

export function notAnObject(r: Rng): FuzzCase {
  return {
    kind: 'not_an_object',
    method: 'POST',
    path: r.pick(['/v1/chat/completions', '/v1/embeddings']),
    headers: JSON_HEADERS,
    body: r.pick(['null', '1', '"x"', 'true', '[]', '[{"model":"demo-model"}]', '-0', '1e999']),
    expect: E400,
  };
}

export function deepNesting(r: Rng): FuzzCase {
  const open = r.pick(['[', '{"a":']);
  const fits = Math.floor((FUZZ.bodyLimit - 200) / (open.length + 1));
  const depth = Math.min(fits, r.pick([200, 1_000, 5_000, 10_000, r.int(129, 15_000)]));
  const close = open === '[' ? ']' : '}';
  const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
  const where = r.int(0, 3);
  const body =
    where === 0
      ? nested
      : where === 1
        ? `{"model":"demo-model","messages":[{"role":"user","content":"hi"}],"metadata":${nested}}`
        : where === 2
          ? `{"model":"demo-model","messages":${nested}}`
          : `{"model":"text-embedding-3-small","input":"x","extra":${nested}}`;
  return {
    kind: 'deep_nesting',
    method: 'POST',
    path: where === 3 ? '/v1/embeddings' : '/v1/chat/completions',
    headers: JSON_HEADERS,
    body,
    expect: E400,
  };
}

export function oddUnicode(r: Rng): FuzzCase {
  const where = r.int(0, 3);
  if (where === 0) {
    // An unknown model named in odd unicode: a 404 that echoes it safely.
    const body = {
      model: `no-such-${oddString(r)}`,
      messages: [{ role: 'user', content: oddString(r, 200) }],
    };
    return {
      kind: 'odd_unicode_model',
      method: 'POST',
      path: '/v1/chat/completions',
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
      expect: { status: [404], code: ['model_not_found'], param: ['model'] },
    };
  }
  if (where === 1) {
    const body = {
      model: 'demo-model',
      messages: [{ role: oddString(r, 8), content: oddString(r) }],
    };
    return {
      kind: 'odd_unicode_role',
      method: 'POST',
      path: '/v1/chat/completions',
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
      expect: { ...E400, param: ['messages'] },
    };
  }
  if (where === 2) {
    // Raw (unescaped) odd characters, lone surrogates encoded as the bytes a sloppy encoder writes.
    const raw = Buffer.concat([
      Buffer.from('{"model": 5, "messages": [{"role": "user", "content": "'),
      Buffer.from([0xed, 0xa0, 0x80, 0x00, 0xe2, 0x80, 0x8f, 0xc3]),
      Buffer.from('"}]}'),
    ]);
    return {
      kind: 'odd_unicode_bytes',
      method: 'POST',
      path: '/v1/chat/completions',
      headers: JSON_HEADERS,
      body: raw,
      expect: { status: [400], code: ['invalid_json', 'invalid_request_body'] },
    };
  }
  const body = { input: oddString(r), model: { [oddString(r, 5)]: oddString(r) } };
  return {
    kind: 'odd_unicode_embeddings',
    method: 'POST',
    path: '/v1/embeddings',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
    expect: { ...E400, param: ['model'] },
  };
}

/**
 * Odd but valid requests: odd unicode everywhere a string may be, unknown and prototype-named
 * fields, nesting just under the limit, streams. The proxy must answer each one 200.
 */
export function oddButValid(seed: number, count: number): FuzzCase[] {
  const r = prng(seed);
  const out: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const body = validChat(r);
    body.messages = [
      { role: 'system', content: oddString(r, 60) },
      {
        role: 'user',
        content: r.chance(0.5) ? oddString(r, 200) : [{ type: 'text', text: oddString(r) }],
      },
    ];
    const depth = r.int(1, 127); // the root object is level 1: 128 levels in all at most
    const extras: Record<string, unknown> = {
      [oddString(r, 12)]: oddString(r),
      metadata: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown,
      user: oddString(r, 30),
    };
    for (const [k, v] of Object.entries(extras)) if (r.chance(0.7)) body[k] = v;
    if (r.chance(0.3)) {
      Object.defineProperty(body, '__proto__', { value: { stream: 'yes' }, enumerable: true });
    }
    out.push({
      kind: 'odd_but_valid',
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { ...JSON_HEADERS, ...(r.chance(0.5) ? { 'x-llm-proxy-cache': 'on' } : {}) },
      body: JSON.stringify(body),
      expect: { status: [200] },
    });
  }
  return out;
}
