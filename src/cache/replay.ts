/**
 * A cached chat answer serves both shapes of the same request: a stored stream replays as
 * SSE or is assembled into one completion, a stored completion replays as JSON or as a
 * short stream. What cannot be given faithfully in the shape asked (usage that was never
 * streamed, a field the conversion does not know) is declined: the request is answered
 * from upstream, and that answer replaces the entry. Pure functions over the wire format.
 */
import { isRecord, parseRecord } from '../json.js';
import { chunksToCompletion, completionToChunks } from './convert.js';
import type { CachedAnswer } from './entry.js';

/** The shape a request wants its answer in. */
export interface ReplayRequest {
  stream: boolean;
  /** `stream_options.include_usage`: the stream must end with a usage chunk. */
  includeUsage: boolean;
}

/** What to send: one JSON body, or SSE `data:` payloads (without the final `[DONE]`). */
export type Replay = { kind: 'json'; body: string } | { kind: 'sse'; chunks: readonly string[] };

type Stored = Pick<CachedAnswer, 'body' | 'chunks'>;

/** Cheap pre-filter for chunks that may carry a usage object; parsed before it counts. */
const MAY_CARRY_USAGE = /"usage"\s*:\s*\{/;

/** The chunk, parsed, if it carries a usage object. */
function withUsage(data: string): Record<string, unknown> | undefined {
  if (!MAY_CARRY_USAGE.test(data)) return undefined;
  const chunk = parseRecord(data);
  return chunk !== undefined && isRecord(chunk.usage) ? chunk : undefined;
}

/** The final usage-only chunk: no choices and a usage object (not Azure's filter results). */
function isUsageOnly(data: string): boolean {
  const chunk = withUsage(data);
  return chunk !== undefined && Array.isArray(chunk.choices) && chunk.choices.length === 0;
}

function streamFrom(chunks: readonly string[], includeUsage: boolean): Replay | undefined {
  if (!includeUsage) return { kind: 'sse', chunks: chunks.filter((data) => !isUsageOnly(data)) };
  // The usage chunk is there only if the request that stored the stream asked for it too.
  const hasUsage = chunks.some((data) => withUsage(data) !== undefined);
  return hasUsage ? { kind: 'sse', chunks } : undefined;
}

/**
 * The stored answer in the shape `want` asks for, or undefined when it cannot be given
 * faithfully (the caller treats that as a miss). The stored shape replays as it was, but for
 * the usage chunk, which follows `include_usage`; the other shape is converted, exactly or not
 * at all (see convert.ts).
 */
export function replayAs(stored: Stored, want: ReplayRequest): Replay | undefined {
  try {
    if (want.stream) {
      if (stored.chunks !== undefined) return streamFrom(stored.chunks, want.includeUsage);
      if (stored.body === undefined) return undefined;
      return { kind: 'sse', chunks: completionToChunks(stored.body, want.includeUsage) };
    }
    if (stored.body !== undefined) return { kind: 'json', body: stored.body };
    if (stored.chunks === undefined) return undefined;
    return { kind: 'json', body: chunksToCompletion(stored.chunks) };
  } catch {
    return undefined;
  }
}

/**
 * Whether an answer is well-formed enough to store: a completion whose choices carry
 * messages, or stream chunks that are all chunk objects (usage-only ones included). The cache
 * stores nothing else, so a provider's malformed answer is passed on once, never replayed as
 * an error for the whole lifetime of its entry. One that is well-formed but cannot be
 * converted (see convert.ts) is stored and replays in its own shape only.
 */
export function replayable(answer: Stored): boolean {
  if (answer.body !== undefined) {
    const c = parseRecord(answer.body);
    if (c === undefined || !Array.isArray(c.choices) || c.choices.length === 0) return false;
    return c.choices.every((ch) => isRecord(ch) && isRecord(ch.message));
  }
  const chunks = answer.chunks ?? [];
  if (chunks.length === 0) return false;
  return chunks.every((raw) => {
    const chunk = parseRecord(raw);
    if (chunk === undefined || !Array.isArray(chunk.choices)) return false;
    return chunk.choices.every((ch) => isRecord(ch) && isRecord(ch.delta));
  });
}
