/**
 * The batching span processor for OTLP/protobuf: the SDK's BatchSpanProcessor semantics
 * (a bounded queue that drops when full, batches of maxExportBatchSize, a scheduled delay,
 * one export at a time, an export timeout, flush on forceFlush and shutdown), except that
 * each span is encoded the moment it ends (see span-encoder.ts) instead of being held until
 * its batch is serialized. The HTTP side (headers, compression, retries, timeouts from the
 * OTEL_EXPORTER_OTLP_* variables) is otlp-exporter-base's, as in the OTel exporter.
 */
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, globalErrorHandler, type ExportResult } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExportHealth, silentExportLog, type ExportLog } from './export-log.js';
import { ProtobufSink } from './protobuf-sink.js';
import { encodeRequest, writeSpan, type SpanGroup } from './span-encoder.js';

/**
 * Arms an unref'd one-shot timer and returns what disarms it: the spawner's `armTimer`
 * (src/tasks/timers.ts), handed in because the spawner is instrumented by telemetry/, so
 * telemetry/ does not import tasks/ (no import circles).
 */
export type ArmTimer = (ms: number, fire: () => void) => () => void;

export interface BatchOptions {
  maxExportBatchSize: number;
  maxQueueSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
}

/** The spec's defaults (OTEL_BSP_*). */
export const BATCH_DEFAULTS: BatchOptions = {
  maxExportBatchSize: 512,
  maxQueueSize: 2048,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30_000,
};

/** OTEL_BSP_* from `env` over `defaults`; a value that is not a non-negative number is ignored. */
export function batchOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  defaults: BatchOptions = BATCH_DEFAULTS,
): BatchOptions {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  const opts: BatchOptions = {
    maxExportBatchSize: read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', defaults.maxExportBatchSize),
    maxQueueSize: read('OTEL_BSP_MAX_QUEUE_SIZE', defaults.maxQueueSize),
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY', defaults.scheduledDelayMillis),
    exportTimeoutMillis: read('OTEL_BSP_EXPORT_TIMEOUT', defaults.exportTimeoutMillis),
  };
  // As the SDK does: a batch can't be larger than the queue, nor empty.
  opts.maxExportBatchSize = Math.max(1, Math.min(opts.maxExportBatchSize, opts.maxQueueSize));
  return opts;
}

/** Spans encoded for one export. */
export interface EncodedBatch {
  readonly count: number;
  readonly groups: readonly SpanGroup[];
}

export interface EncodedBatchExporter {
  export(batch: EncodedBatch, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** OTLP/HTTP protobuf to `url`, otherwise configured by OTEL_EXPORTER_OTLP_* like the OTel exporter. */
export function otlpProtobufExporter(url: string): EncodedBatchExporter {
  return new OTLPExporterBase<EncodedBatch>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', {
        'Content-Type': 'application/x-protobuf',
      }),
      {
        serializeRequest: (batch: EncodedBatch) => encodeRequest(batch.groups),
        deserializeResponse: (data: Uint8Array) =>
          ProtobufTraceSerializer.deserializeResponse(data),
      },
      'otlp_http_span_exporter',
      { name: 'span', countItems: (batch: EncodedBatch) => batch.count },
      undefined,
    ),
  );
}

/** Where a group's encoding buffer starts; it doubles as needed and is reused batch to batch. */
const GROUP_BYTES = 16 * 1024;

class Batch implements EncodedBatch {
  count = 0;
  readonly groups: SpanGroup[] = [];
  private last: SpanGroup | undefined;

  constructor(private readonly spare: ProtobufSink[]) {}

  /** Encodes `span` into its resource and scope's group; false if encoding threw. */
  add(span: ReadableSpan): boolean {
    let g = this.last;
    if (g === undefined || g.resource !== span.resource || g.scope !== span.instrumentationScope) {
      g = this.groups.find(
        (x) => x.resource === span.resource && x.scope === span.instrumentationScope,
      );
      if (g === undefined) {
        const sink = this.spare.pop() ?? new ProtobufSink(GROUP_BYTES);
        sink.pos = 0;
        g = { resource: span.resource, scope: span.instrumentationScope, spans: sink };
        this.groups.push(g);
      }
      this.last = g;
    }
    const mark = g.spans.pos;
    try {
      writeSpan(g.spans, span);
    } catch (err) {
      g.spans.pos = mark;
      globalErrorHandler(err as Error);
      return false;
    }
    this.count++;
    return true;
  }

  /** Hands the group buffers back for the next batches. */
  recycle(): void {
    for (const g of this.groups) this.spare.push(g.spans);
  }
}

export class EncodingSpanProcessor implements SpanProcessor {
  private readonly spare: ProtobufSink[] = [];
  private current = new Batch(this.spare);
  private readonly waiting: Batch[] = [];
  /** Spans ended and not yet handed to the exporter. */
  private queued = 0;
  private dropped = 0;
  private exporting: Promise<void> | undefined;
  private disarmDelay: (() => void) | undefined;
  private shutdownOnce: Promise<void> | undefined;
  /** Batches sealed and batches sent so far: a flush waits for those sealed before it. */
  private sealedBatches = 0;
  private sentBatches = 0;
  private flushes: { upTo: number; resolve: () => void }[] = [];
  /** Failed exports are logged when a run of them starts and when it ends, not each time. */
  private readonly health: ExportHealth;

  /**
   * `armTimer` runs the scheduled delay and the export timeout; `log` hears of failing exports
   * and of spans dropped on a full queue, and when that ends.
   */
  constructor(
    private readonly exporter: EncodedBatchExporter,
    private readonly armTimer: ArmTimer,
    private readonly opts: BatchOptions = BATCH_DEFAULTS,
    private readonly log: ExportLog = silentExportLog,
  ) {
    this.health = new ExportHealth(log);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.shutdownOnce !== undefined) return;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queued >= this.opts.maxQueueSize) {
      if (this.dropped++ === 0)
        this.log.warn(
          { maxQueueSize: this.opts.maxQueueSize },
          'span queue full: dropping spans until the exporter catches up',
        );
      return;
    }
    if (this.dropped > 0) {
      this.log.info({ droppedSpans: this.dropped }, 'span queue has room again');
      this.dropped = 0;
    }
    if (!this.current.add(span)) return;
    this.queued++;
    if (this.current.count >= this.opts.maxExportBatchSize) {
      this.seal();
      this.pump();
    } else {
      this.armDelay();
    }
  }

  /** Exports what has ended so far and resolves when it has been sent (or has failed). */
  forceFlush(): Promise<void> {
    this.seal();
    const upTo = this.sealedBatches;
    this.pump();
    if (this.sentBatches >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.flushes.push({ upTo, resolve }));
  }

  shutdown(): Promise<void> {
    this.shutdownOnce ??= this.forceFlush().then(() => {
      this.disarmDelay?.();
      this.disarmDelay = undefined;
      return this.exporter.shutdown();
    });
    return this.shutdownOnce;
  }

  /** The scheduled delay: a partial batch goes out after it, unless an export is running. */
  private armDelay(): void {
    if (this.disarmDelay !== undefined || this.exporting !== undefined) return;
    if (this.current.count === 0) return;
    this.disarmDelay = this.armTimer(this.opts.scheduledDelayMillis, () => {
      this.disarmDelay = undefined;
      this.seal();
      this.pump();
    });
  }

  private seal(): void {
    if (this.current.count === 0) return;
    this.waiting.push(this.current);
    this.sealedBatches++;
    this.current = new Batch(this.spare);
  }

  /** Starts the next export if none is running; re-arms the delay when the queue runs dry. */
  private pump(): void {
    if (this.exporting !== undefined) return;
    const batch = this.waiting.shift();
    if (batch === undefined) {
      this.armDelay();
      return;
    }
    this.disarmDelay?.();
    this.disarmDelay = undefined;
    this.queued -= batch.count;
    this.exporting = this.send(batch).then(() => {
      this.exporting = undefined;
      this.sentBatches++;
      const due = this.flushes.filter((f) => f.upTo <= this.sentBatches);
      if (due.length > 0) {
        this.flushes = this.flushes.filter((f) => f.upTo > this.sentBatches);
        for (const f of due) f.resolve();
      }
      this.pump();
    });
  }

  /** One export, settled by its result or by the export timeout; never rejects. */
  private async send(batch: Batch): Promise<void> {
    let answered = false;
    try {
      for (const g of batch.groups) {
        if (g.resource.asyncAttributesPending === true) await g.resource.waitForAsyncAttributes?.();
      }
      const result = await new Promise<ExportResult>((resolve) => {
        const disarm = this.armTimer(this.opts.exportTimeoutMillis, () =>
          resolve({ code: ExportResultCode.FAILED, error: new Error('span export timed out') }),
        );
        try {
          this.exporter.export(batch, (r) => {
            answered = true;
            disarm();
            resolve(r);
          });
        } catch (err) {
          // Thrown before it took the batch: nothing reads the buffers, they can go back.
          answered = true;
          disarm();
          resolve({ code: ExportResultCode.FAILED, error: err as Error });
        }
      });
      this.health.record(result.code === ExportResultCode.SUCCESS ? undefined : result.error);
    } catch (err) {
      this.health.record(err instanceof Error ? err : new Error(String(err)));
    } finally {
      // A timed-out export may still read its buffers; only an answered one gives them back.
      if (answered) batch.recycle();
    }
  }
}
