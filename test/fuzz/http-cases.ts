/**
 * Malformed requests around the body: content types, oversized bodies (with Content-Length
 * and chunked), wrong methods, unknown routes, bad credentials, and raw HTTP that Node's
 * parser or the adapter refuses.
 */
import {
  AUTH,
  FUZZ,
  JSON_HEADERS,
  long,
  oddString,
  validChat,
  type FuzzCase,
  type Rng,
} from './kit.js';

export function wrongContentType(r: Rng): FuzzCase {
  const type = r.pick([
    undefined,
    'text/plain',
    'text/plain;charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/jsonx',
    'json',
    'application/octet-stream',
    `text/${oddString(r, 5).replace(/[^\x20-\x7e]/g, 'x')}`,
  ]);
  const headers: Record<string, string> = { ...AUTH };
  if (type !== undefined) headers['content-type'] = type;
  return {
    kind: 'wrong_content_type',
    method: 'POST',
    path: r.pick(['/v1/chat/completions', '/v1/embeddings']),
    headers,
    // JSON is read whatever the label, so only a body that is not JSON (a form, as `curl -d`
    // sends) is refused: a 400 naming the Content-Type, never a 415.
    body: new URLSearchParams({ model: String(validChat(r).model) }).toString(),
    expect: { status: [400], code: ['invalid_json'] },
  };
}

export function oversized(r: Rng): FuzzCase {
  const size = FUZZ.bodyLimit + r.int(1, 96 * 1024);
  const text = JSON.stringify({
    model: 'demo-model',
    messages: [{ role: 'user', content: long(size) }],
  });
  const chunked = r.chance(0.5);
  if (r.chance(0.25)) return oversizedClosing(r, chunked);
  let body: string | Buffer[] = text;
  if (chunked) {
    const buf = Buffer.from(text);
    const parts: Buffer[] = [];
    const step = r.int(512, 16 * 1024);
    for (let i = 0; i < buf.length; i += step) parts.push(buf.subarray(i, i + step));
    body = parts;
  }
  return {
    kind: chunked ? 'oversized_chunked' : 'oversized_length',
    method: 'POST',
    path: r.pick(['/v1/chat/completions', '/v1/embeddings']),
    headers: JSON_HEADERS,
    body,
    expect: { status: [413], code: ['request_too_large'] },
  };
}

/**
 * An oversized body sent whole, then read, with `Connection: close` (Python's urllib): the
 * 413 must still arrive, not a reset under the upload. Megabytes, as the reset only shows
 * once the body outgrows what the sockets buffer.
 */
function oversizedClosing(r: Rng, chunked: boolean): FuzzCase {
  const text = JSON.stringify({
    model: 'demo-model',
    messages: [{ role: 'user', content: long(r.int(2, 4) * 1024 * 1024) }],
  });
  const path = r.pick(['/v1/chat/completions', '/v1/embeddings']);
  const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${text.length}`;
  const body = chunked ? `${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n` : text;
  return {
    kind: chunked ? 'oversized_chunked_connection_close' : 'oversized_length_connection_close',
    method: 'RAW',
    path,
    headers: {},
    raw:
      `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${FUZZ.key}\r\n` +
      `Content-Type: application/json\r\nConnection: close\r\n${framing}\r\n\r\n${body}`,
    expect: { status: [413], code: ['request_too_large'] },
  };
}

const ROUTES: Record<string, string> = {
  '/v1/chat/completions': 'POST',
  '/v1/embeddings': 'POST',
  '/v1/completions': 'POST',
  '/v1/responses': 'POST',
  '/v1/models': 'GET',
  '/healthz': 'GET',
  '/readyz': 'GET',
  '/metrics': 'GET',
  '/admin/tasks': 'GET',
  '/admin/drain': 'POST',
};

export function wrongMethod(r: Rng): FuzzCase {
  const path = r.pick(Object.keys(ROUTES));
  const method = r.pick(
    ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => m !== ROUTES[path]),
  );
  return {
    kind: 'wrong_method',
    method,
    path,
    headers: JSON_HEADERS,
    ...(method === 'GET' || method === 'OPTIONS' ? {} : { body: JSON.stringify(validChat(r)) }),
    expect: { status: [405], code: ['method_not_allowed'] },
  };
}

/** Every UTF-8 byte as %XX (encodeURIComponent throws on lone surrogates). */
function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

export function unknownRoute(r: Rng): FuzzCase {
  const path = r.pick([
    '/',
    '/v1',
    '/v1/',
    '/v1/chat',
    '/v1/chat/completions/',
    '/v1/chat/completions/extra',
    '/v2/chat/completions',
    '/V1/MODELS',
    '//v1/models',
    '/v1/completion',
    '/v1/response',
    '/admin',
    '/admin/tasks/1',
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%00',
    '/%ff%fe',
    '/%',
    '/v1/%E2%80%AE',
    `/${percentEncode(oddString(r, 20))}`,
    `/${'a'.repeat(r.int(100, 4_000))}`,
  ]);
  return {
    kind: 'unknown_route',
    method: r.pick(['GET', 'POST']),
    path,
    headers: JSON_HEADERS,
    expect: { status: [404], code: ['unknown_route'] },
  };
}

export function badAuth(r: Rng): FuzzCase {
  const [method, path, guard] = r.pick([
    ['POST', '/v1/chat/completions', 'proxy'],
    ['POST', '/v1/embeddings', 'proxy'],
    ['GET', '/v1/models', 'proxy'],
    ['GET', '/admin/tasks', 'admin'],
    ['POST', '/admin/drain', 'admin'],
    ['GET', '/metrics', 'metrics'],
  ] as const);
  // Never the credential that opens this route (the proxy key is a wrong one for admin).
  const valid = guard === 'proxy' ? FUZZ.key : guard === 'admin' ? FUZZ.admin : FUZZ.metrics;
  const token = r.pick(
    [
      'wrong',
      `${valid}x`,
      valid.slice(0, -1),
      valid.toUpperCase(),
      `${valid} ${valid}`,
      long(r.int(1, 6_000)),
      Buffer.from(
        oddString(r, 10)
          .replace(/[\r\n]/g, 'z')
          .replaceAll('\u0000', 'z'),
        'utf8',
      ).toString('latin1'),
      FUZZ.key,
      FUZZ.admin,
      FUZZ.metrics,
    ].filter((t) => t.trim() !== valid),
  );
  const header = r.pick([
    { authorization: `Bearer ${token}` },
    { authorization: `bearer ${token}` },
    { authorization: `Basic ${Buffer.from(`user:${valid}`).toString('base64')}` },
    { authorization: token },
    { authorization: 'Bearer' },
    { authorization: '' },
    { 'x-api-key': token },
    { 'x-api-key': '' },
    { 'x-api-key': `Bearer ${valid}` },
    {},
  ]);
  const codes =
    guard === 'proxy'
      ? ['missing_api_key', 'invalid_api_key']
      : guard === 'admin'
        ? ['invalid_admin_token']
        : ['invalid_metrics_token', 'invalid_api_key'];
  return {
    kind: `bad_auth_${guard}`,
    method,
    path,
    headers: { ...header, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify(validChat(r)) } : {}),
    expect: { status: [401], code: codes },
  };
}

/** Requests Node's HTTP parser or the adapter refuses: each must still get an OpenAI-shaped 4xx. */
export function malformedHttp(r: Rng): FuzzCase {
  const auth = `Authorization: Bearer ${FUZZ.key}\r\n`;
  const json = 'Content-Type: application/json\r\n';
  const ctrl = String.fromCharCode(r.pick([0, 1, 2, 8, 0x0b, 0x0c, 0x1f]));
  const [name, raw, status] = r.pick([
    [
      'ctrl_in_header',
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${FUZZ.key}${ctrl}\r\n\r\n`,
      400,
    ],
    ['space_in_header_name', `GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n`, 400],
    ['header_without_colon', `GET /v1/models HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n`, 400],
    [
      'header_overflow',
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: ${long(r.int(17_000, 40_000))}\r\n\r\n`,
      431,
    ],
    [
      'bad_content_length',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}${json}Content-Length: ${r.pick(['abc', '-1', '1.5', '5 5', '0x10', ''])}\r\n\r\n{}`,
      400,
    ],
    [
      'two_content_lengths',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}${json}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      400,
    ],
    [
      'chunked_and_length',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}${json}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
      400,
    ],
    [
      'bad_chunk_size',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}${json}Transfer-Encoding: chunked\r\n\r\n${r.pick(['zz', '-1', 'ffffffffffffffffff', ''])}\r\nabc\r\n0\r\n\r\n`,
      400,
    ],
    [
      'garbage_request_line',
      `${r.pick(['GARBAGE', 'GET', 'G@T / HTTP/1.1', 'GET /v1/mo dels HTTP/1.1', 'GET /v1/models HTTP/9.9', '\u0000\u0001'])}\r\nHost: x\r\n\r\n`,
      400,
    ],
    [
      'invalid_host',
      `GET /v1/models HTTP/1.1\r\nHost: ${r.pick(['a b', 'exa@mple', '[::1', 'x:99999999', '%zz'])}\r\n\r\n`,
      400,
    ],
    ['backslash_path', `GET /v1\\models HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 400],
    [
      'unsupported_expect',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}${json}Expect: ${r.pick(['banana', '200-ok', 'continue'])}\r\nContent-Length: 2\r\n\r\n{}`,
      417,
    ],
    [
      'bad_target',
      `GET ${r.pick(['*', 'v1/models', 'http://[bad/v1/models'])} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
      400,
    ],
  ] as const);
  return {
    kind: `http_${name}`,
    method: 'RAW',
    path: name,
    headers: {},
    raw,
    expect: {
      status: [status],
      code: [status === 417 ? 'unsupported_expectation' : 'malformed_http_request'],
    },
  };
}
