/** A supervisor wired to a fresh registry, an in-memory span exporter and a log collector. */
import { Writable } from 'node:stream';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { Supervisor, type SupervisorOptions } from '../../src/tasks/index.js';
import { CONTRACT_TASKS } from '../../src/tasks/catalog.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';

export interface Harness {
  supervisor: Supervisor;
  registry: Registry;
  spans: InMemorySpanExporter;
  logs: Record<string, unknown>[];
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  provider: BasicTracerProvider;
}

export function harness(options: Partial<SupervisorOptions> = {}): Harness {
  const registry = new Registry();
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const supervisor = new Supervisor({
    registry,
    logger: createLogger({ level: 'debug', destination }),
    tasks: CONTRACT_TASKS,
    tracer: provider.getTracer('test'),
    ...options,
  });
  return {
    supervisor,
    registry,
    spans,
    logs,
    provider,
    metric: async (name, labels = {}) =>
      sum(parseExposition(await registry.metrics()), name, labels),
  };
}
