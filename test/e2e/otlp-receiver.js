/* global Buffer, console, process */
/**
 * The trace backend of the CI leak gate (test/e2e/leak-gate.sh): an OTLP/HTTP receiver on
 * loopback that takes what the proxy exports and checks it.
 *   node test/e2e/otlp-receiver.js serve PORT FILE   receives POST /v1/traces in http/protobuf
 *                                                  (the proxy's default protocol) and
 *                                                  appends one JSON line per span to FILE
 *   node test/e2e/otlp-receiver.js loops FILE LOOP... each LOOP (owner/task) has finished
 *                                                  per-iteration spans: ROOT spans named
 *                                                  LOOP with task.owner, task.name,
 *                                                  loop.outcome, a link to the loop's span,
 *                                                  and >= 2 distinct loop.iteration values
 * A span line: {traceId, spanId, parentSpanId, name, attributes: {key: value}, links}.
 * Exit 0 when every check passed, 1 otherwise (saying what was missing).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/** Reads a varint at `pos` (int64 values up to 2^53): its value and the position after it. */
function varint(buf, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

/** The fields of the protobuf message buf[start, end): [number, value] in order; bytes as subarrays. */
function fields(buf, start = 0, end = buf.length) {
  const out = [];
  let pos = start;
  while (pos < end) {
    const [key, p] = varint(buf, pos);
    pos = p;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [value, q] = varint(buf, pos);
      out.push([field, value]);
      pos = q;
    } else if (wire === 1) {
      out.push([field, buf.readDoubleLE(pos)]);
      pos += 8;
    } else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, q] = varint(buf, pos);
      if (q + len > end) throw new Error('truncated field');
      out.push([field, buf.subarray(q, q + len)]);
      pos = q + len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const all = (msg, n) =>
  fields(msg)
    .filter(([f]) => f === n)
    .map(([, v]) => v);
const one = (msg, n) => all(msg, n)[0];

/** An AnyValue: string (1), bool (2), int (3) or double (4); other kinds as undefined. */
function anyValue(msg) {
  const [[field, v] = []] = fields(msg);
  if (field === 1) return v.toString('utf8');
  if (field === 2) return v !== 0;
  if (field === 3 || field === 4) return v;
  return undefined;
}

function protobufAttributes(kvs) {
  const out = {};
  for (const kv of kvs) {
    const value = one(kv, 2);
    out[one(kv, 1).toString('utf8')] = value === undefined ? undefined : anyValue(value);
  }
  return out;
}

/** Spans of an ExportTraceServiceRequest: resource_spans(1) > scope_spans(2) > spans(2). */
function protobufSpans(body) {
  const spans = [];
  for (const rs of all(body, 1))
    for (const ss of all(rs, 2))
      for (const s of all(ss, 2)) {
        const parent = one(s, 4);
        spans.push({
          traceId: one(s, 1).toString('hex'),
          spanId: one(s, 2).toString('hex'),
          parentSpanId: parent === undefined || parent.length === 0 ? '' : parent.toString('hex'),
          name: one(s, 5).toString('utf8'),
          attributes: protobufAttributes(all(s, 9)),
          links: all(s, 13).length,
        });
      }
  return spans;
}

function serve(port, file) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (!(req.headers['content-type'] ?? '').includes('protobuf')) {
        res.writeHead(415).end();
        return;
      }
      let spans;
      try {
        spans = protobufSpans(Buffer.concat(chunks));
      } catch (err) {
        console.error(`otlp-receiver: undecodable export: ${String(err)}`);
        res.writeHead(400).end();
        return;
      }
      if (spans.length > 0) {
        appendFileSync(file, spans.map((s) => JSON.stringify(s)).join('\n') + '\n');
      }
      // An empty ExportTraceServiceResponse.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(Number(port), '127.0.0.1', () => console.log(`otlp-receiver on :${port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

export function readSpans(file) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** What is wrong with LOOP's iteration spans in `spans`, or undefined when nothing is. */
export function loopProblem(spans, loop) {
  const [owner, task] = loop.split('/');
  const named = spans.filter((s) => s.name === loop);
  if (named.length === 0) return 'no span named so';
  const proper = named.filter(
    (s) =>
      s.parentSpanId === '' &&
      s.links >= 1 &&
      s.attributes['task.owner'] === owner &&
      s.attributes['task.name'] === task &&
      Number.isInteger(s.attributes['loop.iteration']) &&
      typeof s.attributes['loop.outcome'] === 'string',
  );
  if (proper.length === 0) {
    return `${named.length} span(s), none a root span with a link, task.owner, task.name, integer loop.iteration and loop.outcome (first: ${JSON.stringify(named[0])})`;
  }
  const iterations = new Set(proper.map((s) => s.attributes['loop.iteration']));
  if (iterations.size < 2) return `only iteration(s) ${[...iterations].join(', ')}`;
  return undefined;
}

function checkLoops(file, loops) {
  const spans = readSpans(file);
  let failed = false;
  for (const loop of loops) {
    const problem = loopProblem(spans, loop);
    if (problem === undefined) {
      const n = new Set(
        spans.filter((s) => s.name === loop).map((s) => s.attributes['loop.iteration']),
      ).size;
      console.log(`  ${loop}: ${n} iterations, each its own finished span`);
    } else {
      console.log(`  ${loop}: ${problem}`);
      failed = true;
    }
  }
  console.log(`  (${spans.length} spans received in all)`);
  return failed ? 1 : 0;
}

const isMain = process.argv[1]?.endsWith('otlp-receiver.js');
if (isMain) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'serve' && args.length === 2) serve(args[0], args[1]);
  else if (command === 'loops' && args.length >= 2)
    process.exit(checkLoops(args[0], args.slice(1)));
  else {
    console.error('usage: otlp-receiver.js serve PORT FILE | loops FILE OWNER/TASK...');
    process.exit(2);
  }
}
