/**
 * How span export trouble reaches the logs: a run of failed exports is two lines, one when it
 * starts (warn) and one when exports succeed again (info, with the count), so a collector that
 * is down for an hour is not a line per batch. Both export paths use it: the protobuf
 * processor and the http/json exporter.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Where export failures and dropped spans are reported (a pino logger is one). */
export interface ExportLog {
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
}

export const silentExportLog: ExportLog = { warn() {}, info() {} };

/** Logs the start and the end of each run of failed exports. */
export class ExportHealth {
  /** Exports failed in a row. */
  private failedExports = 0;

  constructor(private readonly log: ExportLog) {}

  /** One export's result: `undefined` when it succeeded, else why it failed. */
  record(error: Error | undefined): void {
    if (error === undefined) {
      if (this.failedExports > 0)
        this.log.info({ failedExports: this.failedExports }, 'span export recovered');
      this.failedExports = 0;
      return;
    }
    if (this.failedExports++ === 0)
      this.log.warn({ err: error.message }, `span export failing: ${error.message}`);
  }
}

/** A SpanExporter whose results are reported to an ExportHealth on their way back. */
export class LoggedSpanExporter implements SpanExporter {
  private readonly health: ExportHealth;

  constructor(
    private readonly inner: SpanExporter,
    log: ExportLog,
  ) {
    this.health = new ExportHealth(log);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.health.record(
        result.code === ExportResultCode.SUCCESS
          ? undefined
          : (result.error ?? new Error('span export failed')),
      );
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
