/**
 * OpenTelemetry tracing, set up by the entry point only and configured by the standard
 * OTEL_* variables (OTLP over HTTP, protobuf or JSON). With no endpoint set nothing is started and no span is
 * made. No context manager is registered: AsyncLocalStorage made every promise about 3x
 * dearer here, so spans are parented explicitly (the spawner's scopes carry the context).
 */
import { ROOT_CONTEXT, trace, type ContextManager, type Tracer } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ExportLog } from './otlp/export-log.js';
import type { ArmTimer } from './otlp/span-processor.js';

export interface TracingOptions {
  /** The spawner's timer (src/tasks/timers.ts), which the protobuf exporter's batching runs on. */
  armTimer: ArmTimer;
  /** The service name unless OTEL_SERVICE_NAME says otherwise. */
  serviceName?: string;
  log?: ExportLog;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** The traces endpoint per the OTLP exporter spec: the signal-specific one as is, else base + /v1/traces. */
function tracesUrl(env: NodeJS.ProcessEnv): string {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (specific !== undefined && specific !== '') return specific;
  return `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/+$/, '')}/v1/traces`;
}

export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return false;
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').includes('otlp');
}

/** Explicit propagation only: `context.active()` is always the root context. */
const explicitOnly: ContextManager = {
  active: () => ROOT_CONTEXT,
  with: (_ctx, fn, thisArg, ...args) => fn.call(thisArg, ...args),
  bind: (_ctx, target) => target,
  enable() {
    return this;
  },
  disable() {
    return this;
  },
};

/**
 * http/protobuf: spans are encoded as they end, into batches of 512 (the spec's default),
 * since an export then only copies bytes. See otlp/span-processor.ts.
 */
async function protobufProcessor(
  env: NodeJS.ProcessEnv,
  { armTimer, log }: TracingOptions,
): Promise<SpanProcessor> {
  const { EncodingSpanProcessor, batchOptionsFromEnv, otlpProtobufExporter } =
    await import('./otlp/span-processor.js');
  return new EncodingSpanProcessor(
    otlpProtobufExporter(tracesUrl(env)),
    armTimer,
    batchOptionsFromEnv(env),
    log,
  );
}

/**
 * http/json: the SDK's BatchSpanProcessor and JSON exporter, whose failures are logged as the
 * protobuf path's are. NOTE: that exporter serializes a whole batch in one synchronous run,
 * ~15 us a span here: the SDK's default batch of 512 stalled the event loop ~8 ms, so batches
 * are 128 unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE says.
 */
export async function jsonSpanProcessor(
  env: NodeJS.ProcessEnv,
  log: ExportLog | undefined,
): Promise<SpanProcessor> {
  const [{ BatchSpanProcessor }, { OTLPTraceExporter }, { LoggedSpanExporter, silentExportLog }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('./otlp/export-log.js'),
    ]);
  const exporter = new LoggedSpanExporter(
    new OTLPTraceExporter({ url: tracesUrl(env) }),
    log ?? silentExportLog,
  );
  const batch = env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ? {} : { maxExportBatchSize: 128 };
  return new BatchSpanProcessor(exporter, batch);
}

/**
 * Starts the SDK when OTEL_* asks for traces. NOTE: the SDK and exporter are imported only
 * then: together they hold ~30 MB resident that a proxy without tracing should not pay.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  version: string,
  options: TracingOptions,
): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  // OTLP over HTTP in the protocol the standard variables ask for: http/protobuf (the spec's
  // default; payloads ~3x smaller than JSON, which showed in CPU per request) or http/json.
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const [{ NodeSDK }, { pooledIds }, spanProcessor] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('./otlp/ids.js'),
    protocol === 'http/json'
      ? jsonSpanProcessor(env, options.log)
      : protobufProcessor(env, options),
  ]);
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME wins, as everywhere in OTel; then telemetry.serviceName.
    serviceName: env.OTEL_SERVICE_NAME ?? options.serviceName ?? 'llm-proxy',
    spanProcessors: [spanProcessor],
    contextManager: explicitOnly,
    idGenerator: pooledIds,
    instrumentations: [],
    // Metrics go to Prometheus (/metrics) and logs to stdout; OTel exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { tracer: trace.getTracer('llm-proxy', version), shutdown: () => sdk.shutdown() };
}
