/**
 * The http/json path (the SDK's processor and exporter) logs failing exports as the protobuf
 * path does: one warn when a run of failures starts, one info when exports succeed again.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { expect, it } from 'vitest';
import { jsonSpanProcessor } from '../../src/telemetry/tracing.js';

it('logs the start and the end of a run of failed http/json exports, not each failure', async () => {
  let answered = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // 400 is not retried by the exporter: each export fails at once, until the third.
      const status = answered++ < 2 ? 400 : 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const logged: [level: string, fields: object, msg: string][] = [];
  const log = {
    warn: (fields: object, msg: string) => logged.push(['warn', fields, msg]),
    info: (fields: object, msg: string) => logged.push(['info', fields, msg]),
  };
  const processor = await jsonSpanProcessor(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    },
    log,
  );
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  try {
    for (const name of ['refused-1', 'refused-2']) {
      tracer.startSpan(name).end();
      // The SDK's processor fails a flush whose export failed.
      await expect(provider.forceFlush()).rejects.toThrow();
    }
    tracer.startSpan('accepted').end();
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    await new Promise((r) => receiver.close(r));
  }
  expect(answered).toBe(3);
  expect(logged).toHaveLength(2);
  expect(logged[0]![0]).toBe('warn');
  expect(logged[0]![2]).toMatch(/^span export failing: /);
  expect(logged[1]).toEqual(['info', { failedExports: 2 }, 'span export recovered']);
});
