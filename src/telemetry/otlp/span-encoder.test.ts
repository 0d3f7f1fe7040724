import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ProtobufSink } from './protobuf-sink.js';
import { encodeRequest, writeSpan, type SpanGroup } from './span-encoder.js';

/** Spans of every shape the encoder handles, from two scopes of one provider. */
function recordSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'encoder-test',
      'process.pid': 4242,
      'host.arch': 'amd64',
      'process.command_args': ['node', 'dist/cli/index.js'],
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const a = provider.getTracer('llm-proxy', '1.2.3');
  const b = provider.getTracer('other-scope', undefined, {
    schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
  });
  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=a,other=b'),
  });
  const attrs = {
    str: 'ascii',
    unicode: 'héllo wörld ✓ 日本',
    long: 'x'.repeat(300),
    empty: '',
    yes: true,
    no: false,
    int: 42,
    zero: 0,
    negative: -7,
    big: 2 ** 40 + 3,
    huge: 2 ** 60,
    double: 3.25,
    nan: Number.NaN,
    strings: ['a', 'b', 'ç'],
    numbers: [1, 2.5, -3],
    bools: [true, false],
    mixed: ['a', null, undefined],
  };
  const spans: [Tracer, string][] = [
    [a, 'plain'],
    [b, 'second-scope'],
    [a, 'back-to-first'],
  ];
  for (const [tracer, name] of spans) tracer.startSpan(name).end();
  const rich = a.startSpan(
    'rich ✓',
    {
      kind: SpanKind.SERVER,
      attributes: attrs,
      links: [
        {
          context: {
            traceId: '1'.repeat(32),
            spanId: '2'.repeat(16),
            traceFlags: TraceFlags.NONE,
            isRemote: true,
            traceState: new TraceState('k=v'),
          },
          attributes: { 'link.kind': 'follows' },
        },
      ],
    },
    remoteParent,
  );
  rich.addEvent('first', { step: 1 });
  rich.addEvent('second');
  rich.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said no' });
  rich.end();
  for (const kind of [SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL])
    b.startSpan(`kind-${kind}`, { kind }, trace.setSpan(ROOT_CONTEXT, rich)).end();
  return memory.getFinishedSpans();
}

/** Groups spans by resource and scope, encoding each as the processor does. */
function encode(spans: ReadableSpan[]): Uint8Array {
  const groups: SpanGroup[] = [];
  for (const span of spans) {
    let g = groups.find(
      (x) => x.resource === span.resource && x.scope === span.instrumentationScope,
    );
    if (g === undefined) {
      g = {
        resource: span.resource,
        scope: span.instrumentationScope,
        spans: new ProtobufSink(64),
      };
      groups.push(g);
    }
    writeSpan(g.spans, span);
  }
  return encodeRequest(groups);
}

describe('OTLP span encoder', () => {
  it('writes the bytes of the OTel protobuf serializer for the same spans', () => {
    const spans = recordSpans();
    expect(spans).toHaveLength(8);
    const ours = Buffer.from(encode(spans));
    const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(ours.length).toBeGreaterThan(1000);
    expect(ours.toString('hex')).toBe(reference.toString('hex'));
  });

  it('matches for a single span and for a batch large enough to need long length prefixes', () => {
    const spans = recordSpans();
    const one = [spans[0]!];
    expect(Buffer.from(encode(one))).toEqual(
      Buffer.from(ProtobufTraceSerializer.serializeRequest(one)!),
    );
    const many = Array.from({ length: 300 }, (_, i) => spans[i % spans.length]!);
    const ours = Buffer.from(encode(many));
    expect(ours.length).toBeGreaterThan(0x4000);
    expect(ours).toEqual(Buffer.from(ProtobufTraceSerializer.serializeRequest(many)!));
  });

  it('matches again for repeated and for many distinct string values of one key', () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('llm-proxy');
    // Past the cached values per key, and long ones that are never cached, twice over.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 40; i++) {
        const value = i % 10 === 9 ? `long-${'y'.repeat(100)}-${i}` : `value-${i}`;
        tracer.startSpan('repeat', { attributes: { 'cache.key': value, same: 'x' } }).end();
      }
    }
    const spans = memory.getFinishedSpans();
    expect(Buffer.from(encode(spans))).toEqual(
      Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!),
    );
  });

  it('encodes times past 2^53 nanoseconds exactly', () => {
    const sink = new ProtobufSink(8);
    const span = recordSpans()[0]!;
    // 2286-11-20: seconds * 1e9 is far past Number.MAX_SAFE_INTEGER.
    const late: ReadableSpan = {
      ...span,
      spanContext: () => span.spanContext(),
      startTime: [9_999_999_999, 123_456_789],
      endTime: [9_999_999_999, 999_999_999],
    };
    writeSpan(sink, late);
    const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest([late])!);
    expect(reference.includes(sink.buf.subarray(0, sink.pos))).toBe(true);
    const nanos = 9_999_999_999n * 1_000_000_000n + 123_456_789n;
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(nanos);
    expect(
      sink.buf.subarray(0, sink.pos).includes(Buffer.concat([Buffer.from([0x39]), bytes])),
    ).toBe(true);
  });
});
