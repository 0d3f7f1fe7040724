/**
 * The encoding span processor against a real OTLP/HTTP receiver on loopback: what arrives is
 * compared byte for byte with the OTel serializer's encoding of the same spans.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { armTimer, liveTimers } from '../../tasks/timers.js';
import {
  BATCH_DEFAULTS,
  batchOptionsFromEnv,
  EncodingSpanProcessor,
  otlpProtobufExporter,
  type BatchOptions,
} from './span-processor.js';

interface Receiver {
  url: string;
  bodies: { type: string | undefined; body: Buffer }[];
  /** Status to answer with. */
  status: number;
  close(): Promise<void>;
}

let server: Server | undefined;

async function receiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    bodies: [],
    status: 200,
    close: () =>
      new Promise((done) => {
        server?.closeAllConnections();
        server?.close(() => done());
      }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.bodies.push({ type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(r.status, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return r;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((done) => (server?.listening ? server.close(() => done()) : done()));
  server = undefined;
});

type Logged = [level: 'warn' | 'info', fields: object, msg: string];

function setup(url: string, opts: Partial<BatchOptions>, logged: Logged[] = []) {
  const memory = new InMemorySpanExporter();
  const processor = new EncodingSpanProcessor(
    otlpProtobufExporter(url),
    armTimer,
    { ...BATCH_DEFAULTS, ...opts },
    {
      warn: (fields, msg) => logged.push(['warn', fields, msg]),
      info: (fields, msg) => logged.push(['info', fields, msg]),
    },
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'processor-test' }),
    spanProcessors: [processor, new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('llm-proxy', 'test');
  return { memory, processor, provider, tracer };
}

describe('EncodingSpanProcessor', () => {
  it('exports full batches at once and the rest on flush, as the OTel serializer would', async () => {
    const rx = await receiver();
    const { memory, processor, provider, tracer } = setup(rx.url, { maxExportBatchSize: 3 });
    for (let i = 0; i < 7; i++) tracer.startSpan(`span-${i}`, { attributes: { i } }).end();
    await processor.forceFlush();
    const spans = memory.getFinishedSpans();
    expect(rx.bodies.map((b) => b.type)).toEqual(Array(3).fill('application/x-protobuf'));
    const expected = [spans.slice(0, 3), spans.slice(3, 6), spans.slice(6)].map((batch) =>
      Buffer.from(ProtobufTraceSerializer.serializeRequest(batch)!).toString('hex'),
    );
    expect(rx.bodies.map((b) => b.body.toString('hex'))).toEqual(expected);
    await provider.shutdown();
    await rx.close();
  });

  it('sends a partial batch after the scheduled delay, without a flush', async () => {
    const rx = await receiver();
    const timersBefore = liveTimers();
    const { provider, tracer } = setup(rx.url, { scheduledDelayMillis: 20 });
    tracer.startSpan('waits-for-the-delay').end();
    expect(liveTimers()).toBe(timersBefore + 1);
    await expect.poll(() => rx.bodies.length, { timeout: 2000 }).toBe(1);
    expect(rx.bodies[0]!.body.includes(Buffer.from('waits-for-the-delay'))).toBe(true);
    await provider.shutdown();
    expect(liveTimers()).toBe(timersBefore);
    await rx.close();
  });

  it('drops what does not fit the queue and goes on after refused exports, saying so once', async () => {
    const rx = await receiver();
    rx.status = 400;
    const logged: Logged[] = [];
    const { processor, provider, tracer } = setup(
      rx.url,
      { maxQueueSize: 4, maxExportBatchSize: 4, scheduledDelayMillis: 60_000 },
      logged,
    );
    // The first 4 fill a batch and leave at once; with one export at a time, the next 4 queue
    // and the last 2 find the queue full.
    // Names long enough that the random ids' bytes around them never spell one by chance
    // (two-letter names did, now and then: 's3' turned up inside the second batch).
    const name = (i: number): string => `span number ${i} of ten`;
    for (let i = 0; i < 10; i++) tracer.startSpan(name(i)).end();
    await processor.forceFlush();
    expect(rx.bodies).toHaveLength(2);
    const names = rx.bodies.map((b) =>
      Array.from({ length: 10 }, (_, i) => i).filter((i) => b.body.includes(Buffer.from(name(i)))),
    );
    expect(names).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    rx.status = 200;
    tracer.startSpan('after').end();
    await processor.forceFlush();
    expect(rx.bodies).toHaveLength(3);
    // One line when dropping starts, one when exports start failing, one for each recovery.
    expect(logged.map(([level, fields]) => [level, fields])).toEqual([
      ['warn', { maxQueueSize: 4 }],
      ['warn', { err: expect.any(String) as unknown }],
      ['info', { droppedSpans: 2 }],
      ['info', { failedExports: 2 }],
    ]);
    expect(logged[1]![2]).toMatch(/^span export failing: /);
    await provider.shutdown();
    await rx.close();
  });

  it('resolves a flush once what ended before it is sent, not what ends after', async () => {
    const rx = await receiver();
    const { processor, provider, tracer } = setup(rx.url, { maxExportBatchSize: 1 });
    // The receiver answers the first export and holds every later one until released.
    const held: (() => void)[] = [];
    server!.removeAllListeners('request');
    server!.on('request', (req, res) => {
      req.resume();
      req.on('end', () => {
        const answer = (): void => void res.writeHead(200).end();
        if (rx.bodies.push({ type: req.headers['content-type'], body: Buffer.alloc(0) }) === 1)
          answer();
        else held.push(answer);
      });
    });
    tracer.startSpan('first').end();
    const flushed = processor.forceFlush();
    tracer.startSpan('second').end();
    tracer.startSpan('third').end();
    await flushed;
    await expect.poll(() => held.length).toBe(1);
    expect(rx.bodies).toHaveLength(2);
    held.shift()!();
    await expect.poll(() => held.length).toBe(1);
    held.shift()!();
    await provider.shutdown();
    expect(rx.bodies).toHaveLength(3);
    await rx.close();
  });

  it('flushes on shutdown and ignores spans that end after it', async () => {
    const rx = await receiver();
    const { provider, tracer } = setup(rx.url, {});
    tracer.startSpan('before').end();
    await provider.shutdown();
    tracer.startSpan('after').end();
    expect(rx.bodies).toHaveLength(1);
    expect(rx.bodies[0]!.body.includes(Buffer.from('after'))).toBe(false);
    await rx.close();
  });
});

describe('EncodingSpanProcessor with a failing exporter', () => {
  it('survives an exporter that throws, without leaving its timeout armed', async () => {
    const timersBefore = liveTimers();
    let calls = 0;
    const processor = new EncodingSpanProcessor(
      {
        export: () => {
          calls++;
          throw new Error('exporter broke');
        },
        shutdown: () => Promise.resolve(),
      },
      armTimer,
      { ...BATCH_DEFAULTS, maxExportBatchSize: 1 },
    );
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('llm-proxy');
    tracer.startSpan('one').end();
    tracer.startSpan('two').end();
    await processor.forceFlush();
    expect(calls).toBe(2);
    expect(liveTimers()).toBe(timersBefore);
    await provider.shutdown();
  });
});

describe('batchOptionsFromEnv', () => {
  it('reads OTEL_BSP_* and ignores what is not a non-negative number', () => {
    expect(
      batchOptionsFromEnv({
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64',
        OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
        OTEL_BSP_SCHEDULE_DELAY: '-1',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
      }),
    ).toEqual({
      maxExportBatchSize: 64,
      maxQueueSize: 2048,
      scheduledDelayMillis: 5000,
      exportTimeoutMillis: 1000,
    });
  });

  it('keeps a batch within the queue and at least one span', () => {
    expect(batchOptionsFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: '100' }).maxExportBatchSize).toBe(100);
    expect(batchOptionsFromEnv({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '0' }).maxExportBatchSize).toBe(1);
  });
});
