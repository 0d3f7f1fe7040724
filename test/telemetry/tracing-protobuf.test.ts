/**
 * The default OTLP protocol is http/protobuf (the spec's default). Its own file: the OTel API
 * registers one global tracer provider per process.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { armTimer } from '../../src/tasks/timers.js';
import { startTracing } from '../../src/telemetry/tracing.js';

it('exports OTLP http/protobuf by default', async () => {
  const bodies: { type: string | undefined; body: Buffer }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces')
        bodies.push({ type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const tracing = (await startTracing(
    { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}` },
    'test',
    { armTimer },
  ))!;
  try {
    tracing.tracer.startSpan('probe-span').end();
  } finally {
    await tracing.shutdown();
    await new Promise((r) => receiver.close(r));
  }
  expect(bodies).toHaveLength(1);
  expect(bodies[0]!.type).toBe('application/x-protobuf');
  // The span name travels as a protobuf string field: its bytes are in the payload.
  expect(bodies[0]!.body.includes(Buffer.from('probe-span'))).toBe(true);
});
