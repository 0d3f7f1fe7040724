/**
 * The client's answer when every attempt failed: one status and a message listing each
 * attempt. The message goes to the client, so it carries provider names, status lines and
 * short transport errors only; free text is scrubbed of anything shaped like a credential
 * and cut short, as a second line of defence behind callers that pass no secrets.
 */
import { redactCredentials, type FailureKind } from '../../upstream/index.js';

/**
 * How an attempt that did not win ended. Never sent: `breaker_open` (refused by the
 * breaker), `cooling_down` (the provider is cooling down after a 429; `retryAfterMs` is the
 * time it has left).
 */
export type AttemptOutcome = FailureKind | 'breaker_open' | 'cooling_down';

export interface AttemptRecord {
  /** The provider's configured name. */
  provider: string;
  outcome: AttemptOutcome;
  /** The upstream HTTP status, when it answered with one. */
  status?: number | undefined;
  /** A short transport error ("connect ECONNREFUSED ..."); never an upstream body. */
  message: string;
  /**
   * What the upstream said when it refused (its error's message, already scrubbed of the
   * configured keys by the adapter), so "HTTP 404" comes with the upstream's reason.
   */
  upstreamMessage?: string | undefined;
  durationMs: number;
  /** The provider's Retry-After, when it sent one (rate limits, 503s), or its cooldown's rest. */
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
 * Status selection: 503 when nothing could be tried (no attempts, or every breaker refused
 * or provider was cooling down) or every attempt that was sent was rate limited, since "try
 * again later" is the truth; 504 when every attempt sent timed out; otherwise 502. Attempts
 * never sent are listed but do not decide between 502 and 504. A 503 carries the soonest
 * Retry-After among rate-limited attempts and cooldowns, when every attempt sent was rate
 * limited (or none was sent).
 */
export function summarizeAttempts(attempts: readonly AttemptRecord[]): FailureSummary {
  const list = attempts.map(describeAttempt).join('; ');
  const sent = attempts.filter((a) => a.outcome !== 'breaker_open' && a.outcome !== 'cooling_down');
  if (sent.length === 0) {
    return withRetryAfter(
      { status: 503, message: list ? `no provider available: ${list}` : 'no provider available' },
      attempts,
    );
  }
  const providers = new Set(attempts.map((a) => a.provider)).size;
  const head = providers === 1 ? '1 provider failed' : `all ${providers} providers failed`;
  const message = `${head}: ${list}`;
  if (sent.every((a) => a.outcome === 'timeout')) return { status: 504, message };
  if (sent.every((a) => a.outcome === 'rate_limited')) {
    return withRetryAfter({ status: 503, message }, attempts);
  }
  return { status: 502, message };
}

/** The summary with the soonest wait any rate-limited or cooling-down attempt was given. */
function withRetryAfter(
  summary: FailureSummary,
  attempts: readonly AttemptRecord[],
): FailureSummary {
  const waits = attempts.flatMap((a) =>
    (a.outcome === 'rate_limited' || a.outcome === 'cooling_down') && a.retryAfterMs !== undefined
      ? [a.retryAfterMs]
      : [],
  );
  if (waits.length === 0) return summary;
  const seconds = Math.ceil(Math.min(...waits) / 1000);
  return { ...summary, retryAfterSeconds: Math.min(MAX_RETRY_AFTER_S, Math.max(1, seconds)) };
}

function describeAttempt(attempt: AttemptRecord): string {
  const { provider, outcome } = attempt;
  const ms = `${Math.max(0, Math.round(attempt.durationMs))} ms`;
  if (outcome === 'breaker_open') return `${provider}: circuit open, not tried`;
  if (outcome === 'cooling_down') {
    const s = Math.max(1, Math.ceil((attempt.retryAfterMs ?? 0) / 1000));
    return `${provider}: rate limited, cooling down for ${s} s, not tried`;
  }
  if (attempt.status !== undefined) {
    const said =
      attempt.upstreamMessage && redactCredentials(attempt.upstreamMessage, MAX_DETAIL_CHARS);
    return `${provider}: HTTP ${attempt.status}${said ? `: ${said}` : ''} (${ms})`;
  }
  if (outcome === 'timeout') return `${provider}: timeout after ${ms}`;
  const detail = redactCredentials(attempt.message, MAX_DETAIL_CHARS);
  return `${provider}: ${outcome.replace('_', ' ')}${detail ? `: ${detail}` : ''} (${ms})`;
}
