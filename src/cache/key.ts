/**
 * Response cache policy as pure functions: which request fields decide the answer (the key),
 * and whether a request may be answered from the cache at all (the decision).
 */
import { hash } from 'node:crypto';
import { isRecord } from '../json.js';
import { ExactNumber, mayBeRounded, parseExact } from './exact-numbers.js';

export type CacheableKind = 'chat' | 'embeddings';

/**
 * Request fields that do not decide the answer, and so are left out of the key. The key is
 * everything else: a parameter OpenAI adds tomorrow, or a provider's own (vLLM's `top_k`),
 * splits entries instead of sharing one, so an unknown field costs a miss, never a wrong hit.
 *
 * - `stream`: a streamed and a non-streamed identical request share one entry, which is
 *   replayed in the shape asked for (replay.ts declines what it cannot replay faithfully).
 * - `stream_options`: its `include_usage` and `include_obfuscation` only shape the delivery
 *   (replay.ts answers `include_usage` or declines); any other member is keyed.
 * - `user`, `safety_identifier`, `prompt_cache_key`: who asks, and OpenAI's routing hint for
 *   its own prompt cache; none changes what the model says.
 * - `metadata`, `store`: tags for a completion stored upstream. A request with `store: true`
 *   is never answered from the cache at all (see cacheDecision).
 */
const NOT_THE_ANSWER: Record<CacheableKind, ReadonlySet<string>> = {
  chat: new Set([
    'stream',
    'stream_options',
    'user',
    'safety_identifier',
    'prompt_cache_key',
    'metadata',
    'store',
  ]),
  embeddings: new Set(['user']),
};

/** The members of `stream_options` that only shape how a stream is delivered. */
const DELIVERY_OPTIONS: ReadonlySet<string> = new Set(['include_usage', 'include_obfuscation']);

/**
 * JSON with object keys sorted at every depth, so two bodies that differ only in key order
 * serialise identically. Like JSON.stringify: undefined members are left out, non-finite
 * numbers become null. An ExactNumber is written as `#` and its text, which no JSON value is.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, undefined);
}

/** canonicalJson, noting in `rounded.seen` any number that parsing may have rounded. */
function canonical(value: unknown, rounded: { seen: boolean } | undefined): string {
  if (value === null || typeof value !== 'object') {
    if (rounded !== undefined && typeof value === 'number' && mayBeRounded(value))
      rounded.seen = true;
    return JSON.stringify(value ?? null) ?? 'null';
  }
  if (value instanceof ExactNumber) return `#${value.text}`;
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonical(v, rounded))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(record[k], rounded)}`);
  return `{${members.join(',')}}`;
}

/** What besides the body decides a request's cache key. */
export interface CacheKeyContext {
  /**
   * The text the body was parsed from. An integer that parsing rounded (past 2^53) goes
   * upstream as written, so it is keyed by that text (see exact-numbers.ts).
   */
  text?: string | undefined;
  /**
   * The client's cache scope: an entry stored in one scope is never found from another.
   * Absent: one scope shared by every client.
   */
  scope?: string | undefined;
}

/**
 * The cache key of a request: sha256 (hex) of the canonical JSON of the body without the
 * fields that do not decide the answer, tagged with the kind so a chat and an embeddings
 * body can never collide, and with the client's scope when it has one. A top-level field
 * sent as null counts as absent (SDKs send either for "provider default").
 */
export function responseCacheKey(
  kind: CacheableKind,
  body: Record<string, unknown>,
  context: CacheKeyContext = {},
): string {
  const rounded = { seen: false };
  let text = canonical(keyed(kind, body, context.scope), rounded);
  // Rare: a number that may have been rounded. The text says whether it was, and how.
  const exact = rounded.seen && context.text !== undefined ? parseExact(context.text) : undefined;
  if (exact !== undefined) text = canonical(keyed(kind, exact, context.scope), undefined);
  return hash('sha256', text, 'hex');
}

/** The body's members that decide the answer, wrapped with the kind and scope. */
function keyed(kind: CacheableKind, body: Record<string, unknown>, scope: string | undefined) {
  const skip = NOT_THE_ANSWER[kind];
  // Entries, not assignment: a body's own "__proto__" member must stay a member.
  const picked: [string, unknown][] = [];
  for (const [field, v] of Object.entries(body)) {
    if (v !== undefined && v !== null && !skip.has(field)) picked.push([field, v]);
  }
  const options = body.stream_options;
  if (kind === 'chat' && isRecord(options) && !(options instanceof ExactNumber)) {
    const rest = Object.entries(options).filter(
      ([option, v]) => v !== undefined && v !== null && !DELIVERY_OPTIONS.has(option),
    );
    if (rest.length > 0) picked.push(['stream_options', Object.fromEntries(rest)]);
  }
  // The kind and scope wrap the body, so no body member (a field named "kind") stands in.
  const members = Object.fromEntries(picked);
  return scope === undefined ? { kind, body: members } : { kind, scope, body: members };
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
 * says to cache sampled answers anyway. Cache-Control no-cache/no-store always bypasses,
 * and so does a chat with `store: true`: the caller wants that completion stored upstream
 * (for evals, distillation, its dashboard), which an answer from the cache silently skips.
 */
export function cacheDecision(input: CacheDecisionInput): CacheDecision {
  const { body, headers, cacheNonDeterministic } = input;
  if (forbidsCache(headers.cacheControl)) return 'bypass';
  if ((input.kind ?? inferKind(body)) === 'embeddings') return 'lookup';
  if (body.store === true) return 'bypass';
  if (body.temperature === 0) return 'lookup';
  const singleChoice = body.n === undefined || body.n === null || body.n === 1;
  const optedIn = headers.optIn?.trim().toLowerCase() === CACHE_OPT_IN;
  if (singleChoice && optedIn) return 'lookup';
  return cacheNonDeterministic ? 'lookup' : 'bypass';
}
