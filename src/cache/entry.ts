/**
 * What the response cache stores, and its wire form in Redis. Values read back from Redis
 * are validated: anything malformed (another writer, a schema change, corruption) is a miss.
 */
import { parseRecord } from '../json.js';

/** A cached upstream answer, in the form it is replayed to the client. */
export interface CachedAnswer {
  /** The provider that produced it (for the x-llm-proxy-provider header). */
  provider: string;
  /** The full JSON response text of a non-streamed answer. */
  body?: string;
  /** The SSE `data:` payloads of a completed stream, in order, without the final [DONE]. */
  chunks?: readonly string[];
  /** Epoch ms when it was stored; bounds the remaining lifetime of copies. */
  storedAt: number;
}

export function serializeAnswer(answer: CachedAnswer): string {
  return JSON.stringify(answer);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** The answer in `text`, or undefined when it is not a well-formed entry. */
export function parseAnswer(text: string): CachedAnswer | undefined {
  const raw = parseRecord(text);
  if (raw === undefined) return undefined;
  const { provider, body, chunks, storedAt } = raw;
  if (typeof provider !== 'string' || provider === '') return undefined;
  if (typeof storedAt !== 'number' || !Number.isFinite(storedAt)) return undefined;
  if (body !== undefined && typeof body !== 'string') return undefined;
  if (chunks !== undefined && !isStringArray(chunks)) return undefined;
  if (body === undefined && chunks === undefined) return undefined;
  const answer: CachedAnswer = { provider, storedAt };
  if (body !== undefined) answer.body = body;
  if (chunks !== undefined) answer.chunks = chunks;
  return answer;
}
