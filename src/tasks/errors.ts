/**
 * Typed errors of the spawner, each with a stable code (fastify-style) that tests check.
 *
 * NOTE: cancellation errors are created on every cancel; capturing a stack costs ~4 us and
 * says nothing useful (the cause is the reason), so they are built with stackTraceLimit 0.
 */
import type { CancelReason, RejectReason } from './vocabulary.js';

function withoutStack<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The mark of an error class whose failures are part of normal operation (an upstream
 * refusing, routing running out of providers, a client error, Redis refusing a write whose
 * outage is counted elsewhere): a task failing with one is logged at debug, not as an error.
 */
export const EXPECTED_FAILURE: unique symbol = Symbol('llm-proxy.expected-failure');

/** An error carrying the EXPECTED_FAILURE mark (declare `readonly [EXPECTED_FAILURE] = true`). */
export interface ExpectedFailure {
  readonly [EXPECTED_FAILURE]: true;
}

export function isExpectedFailure(err: unknown): err is Error & ExpectedFailure {
  return err instanceof Error && (err as Partial<ExpectedFailure>)[EXPECTED_FAILURE] === true;
}

/** The AbortSignal reason of a cancelled task. */
export class TaskCancelledError extends Error {
  readonly code = 'LLMP_TASK_CANCELLED';
  override readonly name = 'TaskCancelledError';
  private constructor(readonly reason: CancelReason) {
    super(`task cancelled: ${reason}`);
  }
  static of(reason: CancelReason): TaskCancelledError {
    return withoutStack(() => new TaskCancelledError(reason));
  }
}

/** Thrown by spawn() when the scope is closing/closed or the task's concurrency limit is hit. */
export class TaskRejectedError extends Error {
  readonly code = 'LLMP_TASK_REJECTED';
  override readonly name = 'TaskRejectedError';
  constructor(
    readonly reason: RejectReason,
    readonly owner: string,
    readonly task: string,
  ) {
    super(
      reason === 'closed'
        ? `cannot spawn ${owner}/${task}: its scope is closing or closed`
        : `cannot spawn ${owner}/${task}: concurrency limit reached`,
    );
  }
}

/** A programming error: spawning a task whose name was never declared to the supervisor. */
export class UndeclaredTaskError extends Error {
  readonly code = 'LLMP_TASK_UNDECLARED';
  override readonly name = 'UndeclaredTaskError';
  constructor(owner: string, task: string) {
    super(`task ${owner}/${task} was not declared to this supervisor`);
  }
}

/** Recorded on a task's span (error.type) when it outlives its grace period after cancellation. */
export class TaskLeakedError extends Error {
  readonly code = 'LLMP_TASK_LEAKED';
  override readonly name = 'TaskLeakedError';
}

export function isCancellation(err: unknown): err is TaskCancelledError {
  return err instanceof TaskCancelledError;
}
