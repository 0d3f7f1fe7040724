/**
 * The fake upstream's knobs and the pure policy that turns them into a plan for one request:
 * which scripted failure (if any) it gets. Kept apart from the socket code so the order of
 * precedence (failNext queue, then failRate, then the standing behaviour) is testable alone.
 */

/** Streams that break after a valid first event (see broken-streams.ts). */
export const BROKEN_STREAMS = [
  'break_mid_event',
  'stall_mid_event',
  'oversized_event',
  'non_json_event',
  'invalid_utf8',
  'nul_event',
] as const;

export const BEHAVIOURS = [
  'ok',
  'fail',
  'hang',
  'reset',
  'reset_mid_stream',
  'rate_limit',
  'invalid_json',
  'invalid_sse',
  'truncated_stream',
  'slow_stream',
  ...BROKEN_STREAMS,
  // A 200 JSON answer whose choices (Anthropic: content blocks) are [null].
  'null_choice',
] as const;

export type Behaviour = (typeof BEHAVIOURS)[number];

export function isBehaviour(value: string): value is Behaviour {
  return (BEHAVIOURS as readonly string[]).includes(value);
}

export interface FakeUpstreamOptions {
  /** 0 or undefined: a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Delay before answering: before the headers of a JSON answer, before the first SSE event. */
  latencyMs?: number;
  /** 0..1 probability of a 500, drawn from a PRNG seeded by `seed` (deterministic runs). */
  failRate?: number;
  seed?: number;
  /** Content chunks per SSE answer. Default 5. */
  streamChunks?: number;
  /** Delay between content chunks. Default 0; 'slow_stream' uses 200 unless set. */
  chunkDelayMs?: number;
  /** Default 'ok'. */
  behaviour?: Behaviour;
  /** Retry-After for 'rate_limit' (and for 429s from failNext). Default 1. */
  retryAfterSeconds?: number;
  /** When set, OpenAI routes need `Authorization: Bearer K` and Anthropic routes `x-api-key: K`. */
  apiKey?: string;
  /** Default: no logging. The CLI passes console.log. */
  log?: (line: string) => void;
  /** Shown in log lines, answer ids and the `x-fake-upstream` header. Default 'fake'. */
  name?: string;
  /** Model ids listed by GET /v1/models. Any model id is accepted by the other routes. */
  models?: readonly string[];
}

export const DEFAULT_MODELS: readonly string[] = [
  'gpt-4o-mini',
  'text-embedding-3-small',
  'claude-3-5-haiku-latest',
];

export const SLOW_STREAM_CHUNK_DELAY_MS = 200;

/** What one request gets, decided before any byte is written. */
export type Plan =
  | { kind: 'error'; status: number; retryAfterSeconds?: number }
  | { kind: 'behaviour'; behaviour: Exclude<Behaviour, 'fail' | 'rate_limit'> };

export interface ForcedFailure {
  status: number;
  retryAfterSeconds?: number;
}

export interface PlanInput {
  behaviour: Behaviour;
  failRate: number;
  retryAfterSeconds: number;
  /** The head of the failNext queue, already taken off it by the caller. */
  forced: ForcedFailure | undefined;
  /** One PRNG draw in [0, 1), taken for every request so runs replay exactly. */
  draw: number;
}

export function planRequest({
  behaviour,
  failRate,
  retryAfterSeconds,
  forced,
  draw,
}: PlanInput): Plan {
  if (forced) {
    const retry =
      forced.retryAfterSeconds ?? (forced.status === 429 ? retryAfterSeconds : undefined);
    return retry === undefined
      ? { kind: 'error', status: forced.status }
      : { kind: 'error', status: forced.status, retryAfterSeconds: retry };
  }
  if (draw < failRate) return { kind: 'error', status: 500 };
  if (behaviour === 'fail') return { kind: 'error', status: 500 };
  if (behaviour === 'rate_limit') return { kind: 'error', status: 429, retryAfterSeconds };
  return { kind: 'behaviour', behaviour };
}

/** The chunk delay in force: an explicit setting wins; 'slow_stream' implies 200 ms. */
export function chunkDelayFor(behaviour: Behaviour, chunkDelayMs: number | undefined): number {
  if (chunkDelayMs !== undefined) return chunkDelayMs;
  if (behaviour === 'slow_stream') return SLOW_STREAM_CHUNK_DELAY_MS;
  return BREAKS_AFTER_START.has(behaviour) ? BROKEN_STREAM_CHUNK_DELAY_MS : 0;
}

/**
 * The streams that break after a valid first event (broken-streams.ts) space their chunks,
 * so the fault reaches the proxy in a later read than the first event, as it would from a
 * real provider generating tokens. NOTE: with no spacing, Node 24's socket reads sometimes
 * joined the first event and the fault into one chunk, and the proxy (rightly, as nothing
 * had been sent yet) failed over instead of relaying: the mode then tested something else.
 */
export const BROKEN_STREAM_CHUNK_DELAY_MS = 40;
export const BREAKS_AFTER_START: ReadonlySet<Behaviour> = new Set<Behaviour>(BROKEN_STREAMS);

/** mulberry32: a tiny seeded PRNG, so a failRate run is the same run every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
