// The fallback engine's pure policy: no I/O, no timers, no clock it does not get injected.
export { countsAgainstBreaker, isRetryable } from './failure-kind.js';
export { CircuitBreaker } from './circuit-breaker.js';
export type { BreakerState, CircuitBreakerOptions } from './circuit-breaker.js';
export { Cooldowns, cooldownFor, retryWaitMs, TIMER_SLACK_MS } from './cooldown.js';
export type { CooldownOptions } from './cooldown.js';
export { modelsServed, orderCandidates } from './ordering.js';
export type { CandidateBreakerState, CandidateInfo, ProviderHealth } from './ordering.js';
export { backoffDelay, retryDelay, shouldRetry } from './retry.js';
export type { BackoffOptions } from './retry.js';
export { LaunchPlan, attemptSchedule } from './hedging.js';
export type { RoutingMode, ScheduleOptions, ScheduledAttempt } from './hedging.js';
export { summarizeAttempts } from './attempt-summary.js';
export type { AttemptOutcome, AttemptRecord, FailureSummary } from './attempt-summary.js';
