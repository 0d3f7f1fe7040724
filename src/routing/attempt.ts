/**
 * One fallback branch: tries one provider (with retries for retryable failures, honouring
 * Retry-After, never once a stream has started), feeding its circuit breaker and metrics.
 * Runs as a `fallback_engine/attempt` task; a winning stream's attempt stays alive, holding
 * the upstream connection, until the stream has been relayed.
 */
import type { Context } from '@opentelemetry/api';
import type { RetryConfig } from '../config/index.js';
import {
  UpstreamError,
  toUpstreamError,
  type ChatAnswer,
  type Provider,
} from '../providers/index.js';
import { sleep } from '../tasks/index.js';
import type { ProviderInstruments, UpstreamOutcome } from '../telemetry/proxy-metrics.js';
import { retryDelay, shouldRetry, type CircuitBreaker, type FailureKind } from './policy/index.js';

export type Answer = ChatAnswer;

/** Calls the provider once; resolves when a JSON answer or a stream's first frame is in. */
export type Operation<T extends Answer> = (
  provider: Provider,
  signal: AbortSignal,
  otelContext: Context,
) => Promise<T>;

export class BreakerOpenError extends UpstreamError {
  constructor() {
    super('server_error', 'circuit breaker open');
  }
}

const OUTCOME: Record<FailureKind, UpstreamOutcome> = {
  server_error: 'server_error',
  timeout: 'timeout',
  connection: 'connection',
  invalid_response: 'invalid_response',
  rate_limited: 'rate_limited',
  client_error: 'client_error',
  cancelled: 'cancelled',
};

export interface AttemptDeps {
  provider: Provider;
  breaker: CircuitBreaker;
  metrics: ProviderInstruments;
  retries: RetryConfig;
}

/**
 * Runs tries until one succeeds or the failure is final. `onAnswer` receives the answer and
 * returns how long to keep holding it (a stream being relayed), or undefined if it lost.
 */
export async function runAttempt<T extends Answer>(
  deps: AttemptDeps,
  op: Operation<T>,
  signal: AbortSignal,
  otelContext: Context,
  onAnswer: (answer: T) => Promise<void> | undefined,
): Promise<void> {
  const { provider, breaker, metrics, retries } = deps;
  for (let attempt = 1; ; attempt++) {
    if (!breaker.tryAcquire()) throw new BreakerOpenError();
    const started = performance.now();
    let answer: T;
    try {
      answer = await op(provider, signal, otelContext);
    } catch (err) {
      const e = toUpstreamError(err, signal);
      if (e.kind === 'cancelled') {
        breaker.release();
        metrics.outcomes.cancelled.inc();
        throw e;
      }
      breaker.onFailure(e.kind);
      metrics.outcomes[OUTCOME[e.kind]].inc();
      metrics.duration.observe((performance.now() - started) / 1000);
      const delay = shouldRetry({
        attempt,
        maxAttempts: retries.maxAttempts,
        kind: e.kind,
        streamedBytes: false,
      })
        ? retryDelay(attempt, e.kind, e.retryAfterMs, retries)
        : undefined;
      if (delay === undefined) throw e;
      metrics.retries.inc();
      if (!(await sleep(delay, signal))) throw new UpstreamError('cancelled', 'cancelled');
      continue;
    }
    breaker.onSuccess();
    if (answer.kind === 'stream') metrics.ttft.observe((performance.now() - started) / 1000);
    const hold = onAnswer(answer);
    if (hold === undefined) {
      if (answer.kind === 'stream') answer.close();
      return;
    }
    try {
      await holdUntil(hold, signal);
    } finally {
      if (answer.kind === 'stream') answer.close();
      metrics.outcomes.ok.inc();
      metrics.duration.observe((performance.now() - started) / 1000);
    }
    return;
  }
}

/** Waits for `hold`, or for the signal to abort, whichever comes first. */
function holdUntil(hold: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void hold.then(done, done);
  });
}
