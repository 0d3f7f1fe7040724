/** What scopes and tasks share from their supervisor: instruments, tracer, logger, ids. */
import type { Context, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TaskDefinition } from './definition.js';
import type { TaskInstruments } from './instruments.js';
import type { LoopRegistry } from './loops.js';
import type { TaskKind } from './vocabulary.js';

export interface TaskInfo {
  readonly id: number;
  readonly owner: string;
  readonly task: string;
  readonly kind: TaskKind;
  readonly site: string;
  /** The trace this task belongs to, when tracing is on (for log lines). */
  readonly traceId: string | undefined;
}

export type TaskErrorHandler = (error: unknown, task: TaskInfo) => void;

export interface Runtime {
  instruments(def: TaskDefinition): TaskInstruments;
  /** The every() loops running now (for the watchdog and the loop gauges). */
  readonly loops: LoopRegistry;
  readonly tracer: Tracer | undefined;
  readonly logger: Logger;
  readonly onError: TaskErrorHandler;
  readonly captureSpawnStacks: boolean;
  nextId(): number;
  readonly rootContext: Context;
}
