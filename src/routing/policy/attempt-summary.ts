/**
 * The client's answer when every attempt failed: one status and a message listing each
 * attempt. The message goes to the client, so it carries provider names, status lines and
 * short transport errors only; free text is scrubbed of anything shaped like a credential
 * and cut short, as a second line of defence behind callers that pass no secrets.
 */
import type { FailureKind } from './failure-kind.js';

/** How an attempt that did not win ended; `breaker_open`: refused by the breaker, never sent. */
export type AttemptOutcome = FailureKind | 'breaker_open';

export interface AttemptRecord {
  /** The provider's configured name. */
  provider: string;
  outcome: AttemptOutcome;
  /** The upstream HTTP status, when it answered with one. */
  status?: number | undefined;
  /** A short transport error ("connect ECONNREFUSED ..."); never an upstream body. */
  message: string;
  durationMs: number;
  /** The provider's Retry-After, when it sent one (rate limits, 503s). */
  retryAfterMs?: number | undefined;
}

export interface FailureSummary {
  status: 502 | 503 | 504;
  message: string;
  /**
   * For a 503 because every attempt was rate limited: when the soonest provider said to come
   * back, in seconds, 1 to 60 (a provider asking for a day is not passed on as a day).
   */
  retryAfterSeconds?: number;
}

const MAX_RETRY_AFTER_S = 60;

const MAX_DETAIL_CHARS = 200;

/**
 * Status selection: 503 when nothing could be tried (no attempts, or every breaker refused)
 * or every attempt that was sent was rate limited, since "try again later" is the truth;
 * 504 when every attempt sent timed out; otherwise 502. Breaker refusals are listed but do
 * not decide between 502 and 504.
 */
export function summarizeAttempts(attempts: readonly AttemptRecord[]): FailureSummary {
  const list = attempts.map(describeAttempt).join('; ');
  const sent = attempts.filter((a) => a.outcome !== 'breaker_open');
  if (sent.length === 0) {
    return {
      status: 503,
      message: list ? `no provider available: ${list}` : 'no provider available',
    };
  }
  const providers = new Set(attempts.map((a) => a.provider)).size;
  const head = providers === 1 ? '1 provider failed' : `all ${providers} providers failed`;
  const message = `${head}: ${list}`;
  if (sent.every((a) => a.outcome === 'timeout')) return { status: 504, message };
  if (sent.every((a) => a.outcome === 'rate_limited')) {
    const waits = sent.flatMap((a) => (a.retryAfterMs === undefined ? [] : [a.retryAfterMs]));
    if (waits.length === 0) return { status: 503, message };
    const seconds = Math.ceil(Math.min(...waits) / 1000);
    return {
      status: 503,
      message,
      retryAfterSeconds: Math.min(MAX_RETRY_AFTER_S, Math.max(1, seconds)),
    };
  }
  return { status: 502, message };
}

function describeAttempt(attempt: AttemptRecord): string {
  const { provider, outcome } = attempt;
  const ms = `${Math.max(0, Math.round(attempt.durationMs))} ms`;
  if (outcome === 'breaker_open') return `${provider}: circuit open, not tried`;
  if (attempt.status !== undefined) return `${provider}: HTTP ${attempt.status} (${ms})`;
  if (outcome === 'timeout') return `${provider}: timeout after ${ms}`;
  const detail = scrub(attempt.message);
  return `${provider}: ${outcome.replace('_', ' ')}${detail ? `: ${detail}` : ''} (${ms})`;
}

// Shapes of credentials that could ride along in an error string: auth headers, provider
// keys (sk-..., sk-proj-..., sk-ant-...), key=value pairs and URL user-info.
const SECRETS: readonly [RegExp, string][] = [
  [/\bbearer\s+\S+/gi, 'Bearer [redacted]'],
  [/\b(?:sk|pk|rk)-[\w-]{8,}/g, '[redacted]'],
  [
    /\b((?:api[_-]?key|x-api-key|key|token|secret|password|authorization)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi,
    '$1[redacted]',
  ],
  [/\/\/[^/\s@]+@/g, '//[redacted]@'],
];

function scrub(text: string): string {
  let clean = text.replace(/\s+/g, ' ').trim();
  for (const [pattern, replacement] of SECRETS) clean = clean.replace(pattern, replacement);
  return clean.length > MAX_DETAIL_CHARS ? `${clean.slice(0, MAX_DETAIL_CHARS - 1)}…` : clean;
}
