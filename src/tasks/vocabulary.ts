/** The fixed vocabularies of the contract: every metric label value for tasks comes from here. */

export const OUTCOMES = ['completed', 'failed', 'cancelled', 'timed_out'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const CANCEL_REASONS = [
  'shutdown',
  'scope_closed',
  'lost_race',
  'deadline',
  'client_gone',
  'explicit',
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export const REJECT_REASONS = ['limit', 'closed'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type TaskKind = 'oneshot' | 'loop' | 'daemon';
export type TaskState = 'running' | 'cancelling' | 'settled';

/** How one run of an every() loop ended (a loop has no deadline, so no timed_out). */
export const ITERATION_OUTCOMES = ['completed', 'failed', 'cancelled'] as const;
export type IterationOutcome = (typeof ITERATION_OUTCOMES)[number];
