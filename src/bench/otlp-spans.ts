/**
 * Counts the spans in an OTLP/HTTP trace export, so bench:proxy's sink can tell when a traced
 * proxy has delivered every span of a phase: llm-proxy makes one SERVER span per request (and
 * a few others in the background, which must not count towards requests). Protobuf
 * (ExportTraceServiceRequest: field 1 resource_spans, in it field 2 scope_spans, in it field
 * 2 spans, whose field 6 is the kind) is walked, not decoded; JSON is parsed.
 */

/** Spans in an export, and how many of them are SERVER spans (kind 2). */
export interface SpanCount {
  spans: number;
  server: number;
}

const SERVER = 2;

/** Reads a varint at `pos`: its value and the position after it. */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

/**
 * Calls `each(start, end)` for every length-delimited field numbered `field` in the message at
 * buf[start, end), and `onVarint(field, value)` for every varint field; other fields are
 * skipped by wire type.
 */
function fields(
  buf: Uint8Array,
  start: number,
  end: number,
  field: number,
  each: (s: number, e: number) => void,
  onVarint?: (field: number, value: number) => void,
): void {
  let pos = start;
  while (pos < end) {
    const [key, p] = varint(buf, pos);
    pos = p;
    const wire = key & 7;
    if (wire === 0) {
      const [value, q] = varint(buf, pos);
      onVarint?.(key >>> 3, value);
      pos = q;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, q] = varint(buf, pos);
      if (q + len > end) throw new Error('truncated field');
      if (key >>> 3 === field) each(q, q + len);
      pos = q + len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** Spans in one protobuf ExportTraceServiceRequest. */
export function countProtobufSpans(buf: Uint8Array): SpanCount {
  const n: SpanCount = { spans: 0, server: 0 };
  const onSpan = (s: number, e: number): void => {
    n.spans++;
    fields(buf, s, e, 0, noop, (f, v) => {
      if (f === 6 && v === SERVER) n.server++;
    });
  };
  fields(buf, 0, buf.length, 1, (rs, re) =>
    fields(buf, rs, re, 2, (ss, se) => fields(buf, ss, se, 2, onSpan)),
  );
  return n;
}

const noop = (): void => {};

interface JsonExport {
  resourceSpans?: { scopeSpans?: { spans?: { kind?: number }[] }[] }[];
}

/** Spans in one export, by its content type (protobuf unless it says JSON). */
export function countOtlpSpans(body: Uint8Array, contentType: string | undefined): SpanCount {
  if (contentType?.includes('json') !== true) return countProtobufSpans(body);
  const req = JSON.parse(Buffer.from(body).toString('utf8')) as JsonExport;
  const n: SpanCount = { spans: 0, server: 0 };
  for (const rs of req.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? []) {
        n.spans++;
        if (span.kind === SERVER) n.server++;
      }
  return n;
}
