/**
 * Response cache policy as pure functions: which request fields decide the answer (the key),
 * and whether a request may be answered from the cache at all (the decision).
 */
import { hash } from 'node:crypto';

export type CacheableKind = 'chat' | 'embeddings';

/**
 * Fields that determine a chat answer. `stream` is deliberately absent: a streamed and a
 * non-streamed identical request share one entry (the entry holds either form). `user`,
 * `metadata`, `store` and the like describe the caller, not the answer.
 */
const CHAT_FIELDS = [
  'model',
  'messages',
  'tools',
  'tool_choice',
  'functions',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'response_format',
  'n',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'parallel_tool_calls',
] as const;

const EMBEDDINGS_FIELDS = ['model', 'input', 'dimensions', 'encoding_format'] as const;

const FIELDS: Record<CacheableKind, readonly string[]> = {
  chat: CHAT_FIELDS,
  embeddings: EMBEDDINGS_FIELDS,
};

/**
 * JSON with object keys sorted at every depth, so two bodies that differ only in key order
 * serialise identically. Like JSON.stringify: undefined members are left out, non-finite
 * numbers become null.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value ?? null) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${members.join(',')}}`;
}

/**
 * The cache key of a request: sha256 (hex) of the canonical JSON of the fields that decide
 * the answer, tagged with the kind so a chat and an embeddings body can never collide.
 * A field sent as null counts as absent (SDKs send either for "provider default").
 */
export function responseCacheKey(kind: CacheableKind, body: Record<string, unknown>): string {
  const picked: Record<string, unknown> = { kind };
  for (const field of FIELDS[kind]) {
    const v = body[field];
    if (v !== undefined && v !== null) picked[field] = v;
  }
  return hash('sha256', canonicalJson(picked), 'hex');
}

export interface CacheDecisionInput {
  body: Record<string, unknown>;
  headers: { cacheControl?: string; optIn?: string };
  /** Config: cache chat answers even when sampling makes them vary. */
  cacheNonDeterministic: boolean;
  /** Which endpoint the body came from; inferred from the body when absent. */
  kind?: CacheableKind;
}

export type CacheDecision = 'lookup' | 'bypass';

/** The `x-llm-proxy-cache` request header value that opts a sampled chat request in. */
export const CACHE_OPT_IN = 'use';

/** True when a Cache-Control value carries the token no-cache or no-store (any case). */
export function forbidsCache(cacheControl: string | undefined): boolean {
  if (cacheControl === undefined) return false;
  return cacheControl.split(',').some((directive) => {
    const token = (directive.split('=', 1)[0] ?? '').trim().toLowerCase();
    return token === 'no-cache' || token === 'no-store';
  });
}

function inferKind(body: Record<string, unknown>): CacheableKind {
  return body.messages === undefined && body.input !== undefined ? 'embeddings' : 'chat';
}

/**
 * Whether to look a request up in the cache. Embeddings are deterministic. A chat answer
 * is reused when it is deterministic (temperature 0; an absent temperature is the
 * provider's default of 1), when the caller opts in for a single choice, or when config
 * says to cache sampled answers anyway. Cache-Control no-cache/no-store always bypasses.
 */
export function cacheDecision(input: CacheDecisionInput): CacheDecision {
  const { body, headers, cacheNonDeterministic } = input;
  if (forbidsCache(headers.cacheControl)) return 'bypass';
  if ((input.kind ?? inferKind(body)) === 'embeddings') return 'lookup';
  if (body.temperature === 0) return 'lookup';
  const singleChoice = body.n === undefined || body.n === null || body.n === 1;
  const optedIn = headers.optIn?.trim().toLowerCase() === CACHE_OPT_IN;
  if (singleChoice && optedIn) return 'lookup';
  return cacheNonDeterministic ? 'lookup' : 'bypass';
}
