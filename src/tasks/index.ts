export { Supervisor } from './supervisor.js';
export type { SupervisorOptions } from './supervisor.js';
export { Scope } from './scope.js';
export type { SpawnOptions, EveryOptions, CloseSummary, TaskContext } from './scope.js';
export type { TaskHandle, TaskResult, TaskSnapshot, TaskSpanOptions } from './task.js';
export { defineTask, DEFAULT_GRACE_MS } from './definition.js';
export type { TaskDefinition, TaskDefinitionOptions } from './definition.js';
export {
  TaskCancelledError,
  TaskRejectedError,
  UndeclaredTaskError,
  TaskLeakedError,
  isCancellation,
  isExpectedFailure,
  EXPECTED_FAILURE,
} from './errors.js';
export type { ExpectedFailure } from './errors.js';
export { sleep, jittered } from './timers.js';
export type { TaskInfo, TaskErrorHandler } from './runtime.js';
export type { LoopHealth } from './loops.js';
export { liveness } from './watchdog.js';
export type { Liveness, StalledLoop, WatchdogOptions } from './watchdog.js';
export { CANCEL_REASONS, ITERATION_OUTCOMES, OUTCOMES, REJECT_REASONS } from './vocabulary.js';
export type {
  CancelReason,
  IterationOutcome,
  Outcome,
  RejectReason,
  TaskKind,
  TaskState,
} from './vocabulary.js';
export {
  CONTRACT_TASKS,
  HTTP_REQUEST,
  FALLBACK_ATTEMPT,
  FALLBACK_HEDGE,
  HEALTH_LOOP,
  HEALTH_PROBE,
  CACHE_CLEANUP,
  CACHE_WARM,
  CACHE_MONITOR,
  CACHE_REDIS_WRITE,
  CONDENSER_PERSIST,
  CONDENSER_EVICT,
  CONDENSER_CLAIM_RENEW,
  CONDENSER_CLEAR,
  RESPONSE_STORE_PERSIST,
  RESPONSE_STORE_EVICT,
} from './catalog.js';
export { Cancellation } from './cancellation.js';
export type { CancelSignal } from './cancellation.js';
