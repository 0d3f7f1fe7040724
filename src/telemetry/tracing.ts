/**
 * OpenTelemetry tracing, set up by the entry point only and configured by the standard
 * OTEL_* variables (OTLP over HTTP, protobuf or JSON). With no endpoint set nothing is started and no span is
 * made. No context manager is registered: AsyncLocalStorage made every promise about 3x
 * dearer here, so spans are parented explicitly (the spawner's scopes carry the context).
 */
import { ROOT_CONTEXT, trace, type ContextManager, type Tracer } from '@opentelemetry/api';

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
 * Starts the SDK when OTEL_* asks for traces. NOTE: the SDK and exporter are imported only
 * then: together they hold ~30 MB resident that a proxy without tracing should not pay.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  version: string,
  defaults: { serviceName?: string } = {},
): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  // OTLP over HTTP in the protocol the standard variables ask for: http/protobuf (the spec's
  // default; payloads ~3x smaller than JSON, which showed in CPU per request) or http/json.
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const [{ NodeSDK, tracing }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  // NOTE: an export serializes its whole batch in one synchronous run, ~15 us a span here:
  // the SDK's default batch of 512 stalled the event loop ~8 ms and put the traced proxy's
  // p99 at 300 req/s near 16 ms (3.4 ms untraced). Batches of 128 keep a stall near 2 ms.
  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE still wins when set.
  const batch = env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ? {} : { maxExportBatchSize: 128 };
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME wins, as everywhere in OTel; then telemetry.serviceName.
    serviceName: env.OTEL_SERVICE_NAME ?? defaults.serviceName ?? 'llm-proxy',
    spanProcessors: [
      new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(env) }), batch),
    ],
    contextManager: explicitOnly,
    instrumentations: [],
    // Metrics go to Prometheus (/metrics) and logs to stdout; OTel exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { tracer: trace.getTracer('llm-proxy', version), shutdown: () => sdk.shutdown() };
}
