/**
 * One error type for everything the proxy answers with a non-2xx status, in OpenAI's shape
 * `{"error":{"message","type","param","code"}}`, so the official SDKs map it to their own
 * error classes. Codes are stable (tests check codes, not messages). Messages never carry a
 * stack trace or a key.
 */
import { EXPECTED_FAILURE } from '../tasks/errors.js';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'api_error'
  | 'overloaded_error'
  | 'timeout_error';

export interface ProxyErrorOptions {
  type?: ErrorType;
  code?: string | null;
  param?: string | null;
  /** Seconds; sets Retry-After on 429/503. */
  retryAfter?: number;
  /** Methods a route accepts; sets Allow on 405. */
  allow?: readonly string[];
  cause?: unknown;
}

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  /** An answer to the client, not a fault of the proxy: logged at debug when a task fails with it. */
  readonly [EXPECTED_FAILURE] = true;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly retryAfter: number | undefined;
  readonly allow: readonly string[] | undefined;

  constructor(
    readonly status: number,
    message: string,
    { type, code = null, param = null, retryAfter, allow, cause }: ProxyErrorOptions = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.type = type ?? defaultType(status);
    this.code = code;
    this.param = param;
    this.retryAfter = retryAfter;
    this.allow = allow;
  }

  toJSON(): {
    error: { message: string; type: ErrorType; param: string | null; code: string | null };
  } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }

  headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (this.retryAfter !== undefined)
      h['retry-after'] = String(Math.max(1, Math.ceil(this.retryAfter)));
    if (this.allow !== undefined) h.allow = this.allow.join(', ');
    return h;
  }
}

function defaultType(status: number): ErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * The API routes, as the 404 for an unknown route lists them (test/http/unmatched-routes.test.ts
 * checks it names every mounted one).
 */
const SERVED_ROUTES =
  'POST /v1/chat/completions, POST /v1/embeddings, POST /v1/completions, ' +
  'POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items, ' +
  'POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models and GET /v1/models/{id}';

export const errors = {
  /** `mislabelled`: set when the Content-Type was not JSON, the likely thing to fix. */
  badJson: (detail: string, mislabelled?: { contentType: string | undefined }) =>
    new ProxyError(
      400,
      `We could not parse the JSON body of your request: ${detail}` +
        (mislabelled === undefined ? '' : contentTypeHint(mislabelled.contentType)),
      { code: 'invalid_json' },
    ),
  repeatedAuthorization: () =>
    new ProxyError(400, 'Send one Authorization header, not several.', {
      code: 'repeated_authorization',
    }),
  badBody: (message: string, param: string | null) =>
    new ProxyError(400, message, { code: 'invalid_request_body', param }),
  missingKey: () =>
    new ProxyError(
      401,
      "Missing API key. Send it as 'Authorization: Bearer <key>' or in the 'x-api-key' header.",
      { code: 'missing_api_key' },
    ),
  invalidKey: () => new ProxyError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' }),
  adminOnly: () =>
    new ProxyError(401, "This route needs 'Authorization: Bearer <adminToken>'.", {
      code: 'invalid_admin_token',
    }),
  // 401, not 403: from the caller's side no credential can work yet, and the contract's
  // only status for refused credentials is 401.
  adminDisabled: () =>
    new ProxyError(
      401,
      'The admin API is disabled: no auth.adminToken is configured. Set auth.adminToken in ' +
        "the proxy's config, then send it as 'Authorization: Bearer <adminToken>'.",
      { code: 'admin_disabled' },
    ),
  /** The model is served, but by no provider that can take this inbound API. */
  apiNotServed: (model: string, route: string, hint: string, param = 'model') =>
    new ProxyError(400, `No provider serving the model '${model}' can take ${route}: ${hint}`, {
      code: 'unsupported_api',
      param,
    }),
  unknownModel: (model: string) =>
    new ProxyError(
      404,
      `The model '${model}' does not exist or is not served by this proxy. GET /v1/models lists them.`,
      {
        code: 'model_not_found',
        param: 'model',
      },
    ),
  notFound: (path: string) =>
    new ProxyError(
      404,
      `Unknown route ${quotePath(path)}. This proxy serves ${SERVED_ROUTES} ` +
        '(and /healthz, /readyz, /metrics, /admin/*).',
      { code: 'unknown_route' },
    ),
  methodNotAllowed: (method: string, path: string, allow: readonly string[]) =>
    new ProxyError(
      405,
      `Method ${quotePath(method)} is not allowed on ${quotePath(path)}; use ${allow.join(' or ')}.`,
      { code: 'method_not_allowed', allow },
    ),
  tooDeep: (maxDepth: number) =>
    new ProxyError(
      400,
      `The JSON body is nested more than ${maxDepth} levels deep. Send a flatter body.`,
      { code: 'invalid_request_body' },
    ),
  tooLarge: (limit: number) =>
    new ProxyError(413, `Request body is larger than the limit of ${limit} bytes.`, {
      code: 'request_too_large',
    }),
  rateLimited: (retryAfter: number) =>
    new ProxyError(
      429,
      'Rate limit reached for this API key. Retry after the time in Retry-After.',
      {
        code: 'rate_limit_exceeded',
        retryAfter,
      },
    ),
  overloaded: (retryAfter: number) =>
    new ProxyError(503, 'The proxy is at its limit of in-flight requests. Retry shortly.', {
      type: 'overloaded_error',
      code: 'overloaded',
      retryAfter,
    }),
  // 429: this key's own uploads fill its share, so another replica would not help; slowing
  // down does (SDKs retry a 429 after Retry-After).
  tooManyUploads: (perKey: number) =>
    new ProxyError(
      429,
      `Too many request bodies are being sent at once with this API key ` +
        `(server.maxReceivingPerKey: ${perKey}). Finish or cancel the uploads in progress, ` +
        'or send bodies faster, then retry after the time in Retry-After.',
      { code: 'too_many_uploads', retryAfter: 1 },
    ),
  // 503, as for maxInFlight: the proxy's room is full, not by this client's doing alone.
  receivingFull: (total: number) =>
    new ProxyError(
      503,
      `The proxy is receiving as many request bodies as it allows (server.maxReceiving: ` +
        `${total}). Retry shortly, or on another replica.`,
      { type: 'overloaded_error', code: 'overloaded', retryAfter: 1 },
    ),
  requestTimeout: (ms: number) =>
    new ProxyError(
      504,
      `The request took longer than the proxy allows (server.requestTimeoutMs: ${ms} ms).`,
      { code: 'request_timeout' },
    ),
  shuttingDown: () =>
    new ProxyError(
      503,
      'The proxy shut down before this request finished. Retry on another replica.',
      { type: 'overloaded_error', code: 'shutting_down', retryAfter: 1 },
    ),
  draining: () =>
    new ProxyError(
      503,
      'The proxy is draining and takes no new requests. Retry on another replica.',
      {
        type: 'overloaded_error',
        code: 'draining',
        retryAfter: 1,
      },
    ),
  internal: () => new ProxyError(500, 'Internal error in the proxy.', { code: 'internal_error' }),
} as const;

/**
 * The Content-Type named in a 400 for an unparsable body: the media type only (parameters such
 * as a multipart boundary are noise) and cut short, since it is request input echoed back.
 */
function contentTypeHint(contentType: string | undefined): string {
  const media = (contentType ?? '').split(';', 1)[0]!.trim();
  if (media === '') return ' (no Content-Type was sent; send application/json)';
  const shown = media.length > 60 ? `${media.slice(0, 60)}...` : media;
  return ` (Content-Type was ${shown}; send application/json)`;
}

/** Request input echoed in a message: quoted, and cut short so a 16 KB path is not reflected. */
function quotePath(s: string): string {
  return `'${s.length > 120 ? `${s.slice(0, 120)}...` : s}'`;
}
