/**
 * One fallback branch: tries one provider (with retries for retryable failures, honouring
 * Retry-After, never once a stream has started), feeding its circuit breaker, its rate-limit
 * cooldown and metrics. No try is sent while the breaker is open or the cooldown lasts.
 * Runs as a `fallback_engine/attempt` task; a winning stream's attempt stays alive, holding
 * the upstream connection, until the stream has been relayed.
 */
import { trace, type Context } from '@opentelemetry/api';
import type { RetryConfig } from '../config/index.js';
import {
  UpstreamError,
  toUpstreamError,
  type ChatAnswer,
  type FailureKind,
  type Frame,
  type Provider,
} from '../upstream/index.js';
import { merged } from '../objects.js';
import { Cancellation, type CancelSignal } from '../tasks/cancellation.js';
import { sleep, TaskCancelledError, type TaskContext } from '../tasks/index.js';
import { armTimer } from '../tasks/timers.js';
import {
  sampledTraceId,
  type ProviderInstruments,
  type UpstreamOutcome,
} from '../telemetry/proxy-metrics.js';
import { retryDelay, retryWaitMs, shouldRetry, type CircuitBreaker } from './policy/index.js';

export type Answer = ChatAnswer;

/**
 * Calls the provider once for the request `call`; resolves when a JSON answer or a stream's
 * first frame is in. NOTE: the request is an argument, not captured: routes pass one shared
 * function, so a request costs no closure here.
 */
export type Operation<T extends Answer, C = unknown> = (
  provider: Provider,
  call: C,
  signal: CancelSignal,
  otelContext: Context,
) => Promise<T>;

export class BreakerOpenError extends UpstreamError {
  constructor() {
    super('server_error', 'circuit breaker open');
  }
}

/** Not sent: the provider is cooling down after a 429 (here or, shared, on another replica). */
export class CoolingDownError extends UpstreamError {
  constructor(remainingMs: number) {
    super('rate_limited', 'rate limited, cooling down', { retryAfterMs: remainingMs });
  }
}

/**
 * Each provider's rate-limit cooldown (routing/cooldowns.ts, policy/cooldown.ts). Like the
 * breaker, every try admitted by `tryAcquire` ends with `onFailure` or `settle`.
 */
export interface CooldownGate {
  /** Milliseconds before the provider may be sent a request; 0 when it may now. */
  remainingMs(provider: string): number;
  /** Asks to send one try; after a cooldown only one (the trial) goes until it is answered. */
  tryAcquire(provider: string): boolean;
  /** The try was answered, or ended without a verdict (cancelled, refused by the breaker). */
  settle(provider: string): void;
  /** The try failed: a 429 with Retry-After starts or extends the cooldown; else settles. */
  onFailure(provider: string, kind: FailureKind, retryAfterMs: number | undefined): void;
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
  cooldowns: CooldownGate;
  metrics: ProviderInstruments;
  retries: RetryConfig;
}

/**
 * What an attempt needs of its task. NOTE: cancellation is followed through `onCancel` and
 * `cancelled`, not the task's signal: reading it would make an AbortController per attempt,
 * which showed in the request path's profile. The signal is read only to wait out a retry.
 */
export type AttemptTask = Pick<TaskContext, 'cancelled' | 'onCancel' | 'signal'>;

const ignore = (): void => undefined;

/** A signal nothing aborts: lets toUpstreamError classify by the error alone. */
const never = new AbortController().signal;

/** toUpstreamError for this attempt: `cancelled` whenever the attempt is. */
export function classify(err: unknown, task: AttemptTask): UpstreamError {
  return task.cancelled ? new UpstreamError('cancelled', 'cancelled') : toUpstreamError(err, never);
}

/**
 * Runs tries until one succeeds or the failure is final. `onAnswer` receives the answer and
 * returns its consumption, which the attempt holds the answer for (a stream being relayed),
 * or undefined if it lost.
 */
export async function runAttempt<T extends Answer, C>(
  deps: AttemptDeps,
  op: Operation<T, C>,
  call: C,
  task: AttemptTask,
  otelContext: Context,
  onAnswer: (answer: T) => Promise<unknown> | undefined,
): Promise<void> {
  const { provider, breaker, cooldowns, metrics } = deps;
  // A retry refused because this attempt's own failures just opened the breaker (or another
  // 429 extended the cooldown) ends with that failure: the provider was tried, and the
  // client's summary must say how it failed.
  let last: UpstreamError | undefined;
  // The upstream duration's exemplar: this attempt's trace, when sampled.
  const traceId = sampledTraceId(trace.getSpanContext(otelContext));
  for (let attempt = 1; ; attempt++) {
    if (!cooldowns.tryAcquire(provider.name)) {
      throw last ?? new CoolingDownError(cooldowns.remainingMs(provider.name));
    }
    if (!breaker.tryAcquire()) {
      cooldowns.settle(provider.name);
      throw last ?? new BreakerOpenError();
    }
    if (attempt > 1) metrics.retries.inc();
    const started = performance.now();
    let answer: T;
    try {
      answer = await withTimeout(provider.config.timeoutMs, task, (trySignal) =>
        op(provider, call, trySignal, otelContext),
      );
    } catch (err) {
      const e = classify(err, task);
      if (e.kind === 'cancelled') {
        breaker.release();
        cooldowns.settle(provider.name);
        metrics.outcomes.cancelled.inc();
        throw e;
      }
      breaker.onFailure(e.kind);
      cooldowns.onFailure(provider.name, e.kind, e.retryAfterMs);
      metrics.outcomes[OUTCOME[e.kind]].inc();
      metrics.duration.observe((performance.now() - started) / 1000, traceId);
      const wait = retryWait(deps, attempt, e);
      if (wait === undefined) throw e;
      last = e;
      if (!(await sleep(wait, task.signal))) throw new UpstreamError('cancelled', 'cancelled');
      continue;
    }
    breaker.onSuccess();
    cooldowns.settle(provider.name);
    if (answer.kind === 'stream') metrics.ttft.observe((performance.now() - started) / 1000);
    const relay: RelayWatch = { ended: false, failure: undefined };
    const hold = onAnswer(watched(answer, task, relay));
    if (hold === undefined) {
      if (answer.kind === 'stream') answer.close();
      metrics.outcomes.cancelled.inc();
      return;
    }
    try {
      await holdUntil(hold, task);
    } finally {
      if (answer.kind === 'stream') answer.close();
      const outcome = endedAs(answer, task, relay);
      // A stream that broke after winning counts against the provider like any failure;
      // it cannot be retried (the client already holds part of the answer).
      if (outcome !== 'ok' && outcome !== 'cancelled') breaker.onFailure(outcome);
      metrics.outcomes[outcome === 'ok' ? 'ok' : OUTCOME[outcome]].inc();
      metrics.duration.observe((performance.now() - started) / 1000, traceId);
    }
    return;
  }
}

/**
 * How long to wait before the next try on this provider after failure `e`, or undefined to
 * give up on it now: the retry policy's delay, stretched to the end of the provider's
 * cooldown (a try is refused while it lasts) unless that is further off than maxDelayMs.
 */
function retryWait(deps: AttemptDeps, attempt: number, e: UpstreamError): number | undefined {
  const { retries } = deps;
  const retry = shouldRetry({
    attempt,
    maxAttempts: retries.maxAttempts,
    kind: e.kind,
    streamedBytes: false,
  });
  const delay = retry ? retryDelay(attempt, e.kind, e.retryAfterMs, retries) : undefined;
  if (delay === undefined) return undefined;
  return retryWaitMs(delay, deps.cooldowns.remainingMs(deps.provider.name), retries.maxDelayMs);
}

/** How the relay of a won stream went, as seen by its upstream iterator. */
interface RelayWatch {
  /** The upstream ended the stream (cleanly, at the transport level). */
  ended: boolean;
  /** The upstream broke the stream off with this error. */
  failure: UpstreamError | undefined;
}

/** The answer as handed to the relay: a stream's iterator is observed, JSON passes as is. */
function watched<T extends Answer>(answer: T, task: AttemptTask, relay: RelayWatch): T {
  if (answer.kind !== 'stream') return answer;
  const rest = answer.rest;
  // Plain promise callbacks, not an async function: one promise less per frame.
  const onFrame = (next: IteratorResult<Frame>): IteratorResult<Frame> => {
    if (next.done === true) relay.ended = true;
    return next;
  };
  const onBreak = (err: unknown): never => {
    relay.failure = classify(err, task);
    throw err;
  };
  return merged(answer, { rest: { next: () => rest.next().then(onFrame, onBreak) } });
}

/**
 * The outcome of an answer once its hold ended. A stream is `ok` only if the upstream sent
 * its end marker; one that broke off or ended without the marker is a failure of the
 * provider; one whose relay stopped early (the client left, the attempt was cancelled) is
 * `cancelled`.
 */
function endedAs(answer: Answer, task: AttemptTask, relay: RelayWatch): FailureKind | 'ok' {
  if (answer.kind === 'json' || answer.stats.done) return 'ok';
  if (task.cancelled) return 'cancelled';
  if (relay.failure !== undefined) return relay.failure.kind;
  return relay.ended ? 'invalid_response' : 'cancelled';
}

/**
 * Runs one try bounded by the provider's `timeoutMs`: until a JSON answer is read, or a
 * stream's first frame is in (after that the pool's bodyTimeout bounds silences between
 * chunks). NOTE: the pool's own headers/body timeouts run on undici's coarse timers (about
 * 1 s resolution), so a sub-second timeoutMs would fire seconds late without this bound.
 * The try's signal follows the attempt's cancellation for the life of the answer, so
 * cancelling the attempt still closes a stream being relayed.
 */
async function withTimeout<T>(
  timeoutMs: number,
  task: AttemptTask,
  run: (trySignal: CancelSignal) => Promise<T>,
): Promise<T> {
  // One signal per try, following the attempt's cancellation. NOTE: a Cancellation, not an
  // AbortController (see tasks/cancellation.ts); no AbortSignal.any (about 16 us each) and no
  // reason-less abort (a DOMException with a stack): all showed in the request path's profile.
  const trySignal = new Cancellation();
  task.onCancel((reason) => trySignal.abort(TaskCancelledError.of(reason)));
  let timedOut = false;
  const disarm = armTimer(timeoutMs, () => {
    timedOut = true;
    trySignal.abort(TaskCancelledError.of('deadline'));
  });
  try {
    return await run(trySignal);
  } catch (err) {
    if (timedOut && !task.cancelled) throw new UpstreamError('timeout', 'timeout');
    throw err;
  } finally {
    disarm();
  }
}

/** Waits for `hold`, or for the attempt to be cancelled, whichever comes first. */
function holdUntil(hold: Promise<unknown>, task: AttemptTask): Promise<void> {
  if (task.cancelled) {
    // The race hears how consuming ended; this only keeps a rejection from counting as unhandled.
    hold.then(undefined, ignore);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const unhook = task.onCancel(() => resolve());
    const done = (): void => {
      unhook();
      resolve();
    };
    void hold.then(done, done);
  });
}
