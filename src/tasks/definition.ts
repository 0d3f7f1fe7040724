/**
 * Task names are declared up front, so metric labels are a closed set known at start-up and
 * the spawn site is captured once, where the name is declared, not on every spawn.
 */

export interface TaskDefinitionOptions {
  /** How long a cancelled task may take to settle before it is declared leaked. */
  graceMs?: number;
  /** Concurrent tasks of this name across the supervisor; beyond it spawn() rejects ("limit"). */
  maxConcurrent?: number;
}

export interface TaskDefinition {
  readonly owner: string;
  readonly task: string;
  readonly graceMs: number;
  readonly maxConcurrent: number;
  /** file:line where the name was declared: the spawn site reported for leaks. */
  readonly site: string;
}

const NAME = /^[a-z][a-z0-9_]*$/;
export const DEFAULT_GRACE_MS = 5_000;

export function defineTask(
  owner: string,
  task: string,
  { graceMs = DEFAULT_GRACE_MS, maxConcurrent = Infinity }: TaskDefinitionOptions = {},
): TaskDefinition {
  if (!NAME.test(owner) || !NAME.test(task)) {
    throw new Error(`task names are snake_case identifiers, got ${owner}/${task}`);
  }
  return Object.freeze({ owner, task, graceMs, maxConcurrent, site: callerSite() });
}

/** The first stack frame outside this module: where defineTask was called. */
export function callerSite(skip = 0): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callerSite);
  const frames = (holder.stack ?? '').split('\n').slice(1);
  const frame = frames.find((f, i) => i >= skip && !f.includes('/tasks/definition.')) ?? '';
  const m = /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?\s*$/.exec(frame.trim());
  return m?.[1]?.replace(/^file:\/\//, '') ?? 'unknown';
}
