import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { countOtlpSpans, countProtobufSpans } from './otlp-spans.js';

/**
 * `n` ended spans per resource over two resources and, in the first, two scopes, with
 * attributes and events; every third is a SERVER span.
 */
function spans(n: number): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  for (const service of ['a', 'b']) {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'process.pid': 4242 }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracers = [provider.getTracer('one', '1.0.0'), provider.getTracer('two')];
    for (let i = 0; i < n; i++) {
      const span = tracers[i % (service === 'a' ? 2 : 1)]!.startSpan(`s${i}`, {
        kind: i % 3 === 0 ? SpanKind.SERVER : i % 3 === 1 ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes: { i, big: 2 ** 40 + i, ratio: i / 3, name: 'x'.repeat(200) },
      });
      span.addEvent('e', { ok: true });
      span.end();
    }
    out.push(...memory.getFinishedSpans());
  }
  return out;
}

describe('counting the spans in an OTLP trace export', () => {
  it('counts every span, and the SERVER spans, of a protobuf export over resources and scopes', () => {
    for (const n of [0, 1, 7, 300]) {
      const body = ProtobufTraceSerializer.serializeRequest(spans(n))!;
      const want = { spans: 2 * n, server: 2 * Math.ceil(n / 3) };
      expect(countProtobufSpans(body)).toEqual(want);
      expect(countOtlpSpans(body, 'application/x-protobuf')).toEqual(want);
    }
  });

  it('counts the spans of a JSON export', () => {
    const body = JsonTraceSerializer.serializeRequest(spans(5))!;
    expect(countOtlpSpans(body, 'application/json')).toEqual({ spans: 10, server: 4 });
  });

  it('throws on a truncated protobuf export instead of miscounting', () => {
    const body = ProtobufTraceSerializer.serializeRequest(spans(3))!;
    expect(() => countProtobufSpans(body.subarray(0, body.length - 5))).toThrow(/truncated/);
  });
});
