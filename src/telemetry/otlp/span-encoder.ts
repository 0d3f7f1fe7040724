/**
 * OTLP/protobuf encoding of finished spans, one span at a time as it ends, into the batch it
 * will be exported in. The OTel exporter serializes a whole batch at export time instead, so
 * every span sits on the heap until then: long enough to be promoted, which made GC the
 * largest part of tracing's cost here. Encoded at `onEnd`, a span is garbage at once and the
 * batch is one growing buffer off the JS heap.
 *
 * The bytes are those of otlp-transformer's ProtobufTraceSerializer for the same spans, field
 * for field (a test compares them): opentelemetry-proto's trace/v1 and common/v1 messages.
 */
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufSink } from './protobuf-sink.js';

// Wire types.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Span.flags: the W3C trace flags, plus whether the parent's remoteness is known, and is. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote === true ? IS_REMOTE : 0);
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** HrTime as fixed64 nanoseconds, exact past 2^53 (the seconds are split to stay in range). */
function writeTime(w: ProtobufSink, [seconds, nanos]: HrTime): void {
  const lowSecs = seconds & 0xffff;
  const highSecs = (seconds / 0x10000) >>> 0;
  const fromLow = lowSecs * 1e9;
  const fromHigh = highSecs * 1e9;
  const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 0x10000) >>> 0) + nanos;
  const high = Math.floor(fromLow / 0x100000000) + ((fromHigh / 0x10000) >>> 0);
  w.fixed64(low >>> 0, (high + Math.floor(low / 0x100000000)) >>> 0);
}

function writeAnyValue(w: ProtobufSink, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, LEN);
      w.string(value);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.tag(3, VARINT);
        w.varint(value);
      } else {
        w.tag(4, I64);
        w.double(value);
      }
      return;
    default:
  }
  if (value instanceof Uint8Array) {
    w.tag(7, LEN);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.tag(5, LEN);
    const list = w.begin();
    for (const item of value) {
      w.tag(1, LEN);
      const at = w.begin();
      writeAnyValue(w, item);
      w.end(at);
    }
    w.end(list);
  } else if (typeof value === 'object' && value !== null) {
    w.tag(6, LEN);
    const list = w.begin();
    const obj = value as Record<string, unknown>;
    for (const key in obj) {
      if (!Object.hasOwn(obj, key)) continue;
      w.tag(1, LEN);
      const kv = w.begin();
      writeKeyValue(w, key, obj[key]);
      w.end(kv);
    }
    w.end(list);
  }
  // Anything else (undefined, null) is an empty AnyValue.
}

/**
 * What is cached of one attribute key: its `KeyValue.key` field, encoded once (attribute keys
 * come from code, a few dozen of them, and are the bulk of a span's strings), and whole
 * length-prefixed `KeyValue`s for the short string values it was seen with. NOTE: most of a
 * request's string values repeat (task names, method, route, model, provider, outcome): a
 * cached one is a Map lookup and a copy instead of ~6 writes and a byte loop. Bounded, in case
 * a caller's keys or values aren't few: past the bounds, values are encoded as they come.
 */
interface KeyEntry {
  readonly field: Uint8Array;
  readonly strings: Map<string, Uint8Array>;
}

const keyEntries = new Map<string, KeyEntry>();
const KEY_CACHE_MAX = 512;
const STRINGS_PER_KEY = 16;
const CACHED_STRING_MAX = 64;

/** The `KeyValue.key` field; the key's cache entry, made if there is room, or undefined. */
function writeKey(w: ProtobufSink, key: string): KeyEntry | undefined {
  let entry = keyEntries.get(key);
  if (entry !== undefined) {
    w.raw(entry.field);
    return entry;
  }
  const start = w.pos;
  w.tag(1, LEN);
  w.string(key);
  if (keyEntries.size >= KEY_CACHE_MAX) return undefined;
  entry = { field: Uint8Array.from(w.buf.subarray(start, w.pos)), strings: new Map() };
  keyEntries.set(key, entry);
  return entry;
}

function writeKeyValue(w: ProtobufSink, key: string, value: unknown): KeyEntry | undefined {
  const entry = writeKey(w, key);
  w.tag(2, LEN);
  const at = w.begin();
  writeAnyValue(w, value);
  w.end(at);
  return entry;
}

/** One `KeyValue` as field `field` of its message (a repeated attribute). */
function writeAttribute(w: ProtobufSink, field: number, key: string, value: unknown): void {
  w.tag(field, LEN);
  const isString = typeof value === 'string';
  if (isString) {
    const cached = keyEntries.get(key)?.strings.get(value);
    if (cached !== undefined) {
      w.raw(cached);
      return;
    }
  }
  const at = w.begin();
  const entry = writeKeyValue(w, key, value);
  w.end(at);
  if (
    isString &&
    entry !== undefined &&
    value.length <= CACHED_STRING_MAX &&
    entry.strings.size < STRINGS_PER_KEY
  ) {
    entry.strings.set(value, Uint8Array.from(w.buf.subarray(at, w.pos)));
  }
}

function writeAttributes(w: ProtobufSink, attributes: Attributes | undefined, field: number): void {
  if (attributes === undefined) return;
  // Own enumerable keys, in order, as the serializer's for-in + hasOwn; faster here.
  const keys = Object.keys(attributes);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    writeAttribute(w, field, key, attributes[key]);
  }
}

function writeIds(w: ProtobufSink, ctx: SpanContext): void {
  w.tag(1, LEN);
  w.hex(ctx.traceId);
  w.tag(2, LEN);
  w.hex(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
}

/** One `Span` message, with the tag that makes it a `ScopeSpans.spans` entry. */
export function writeSpan(w: ProtobufSink, span: ReadableSpan): void {
  w.tag(2, LEN);
  const msg = w.begin();
  const ctx = span.spanContext();
  writeIds(w, ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hex(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(span.name);
  // The API's kinds start at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
  if ((span.kind as number | undefined) != null) {
    w.tag(6, VARINT);
    w.varint(span.kind + 1);
  }
  w.tag(7, I64);
  writeTime(w, span.startTime);
  w.tag(8, I64);
  writeTime(w, span.endTime);
  writeAttributes(w, span.attributes, 9);
  w.tag(10, VARINT);
  w.varint(span.droppedAttributesCount);
  for (const event of span.events) {
    w.tag(11, LEN);
    const at = w.begin();
    w.tag(1, I64);
    writeTime(w, event.time);
    w.tag(2, LEN);
    w.string(event.name);
    writeAttributes(w, event.attributes, 3);
    w.tag(4, VARINT);
    w.varint(event.droppedAttributesCount ?? 0);
    w.end(at);
  }
  w.tag(12, VARINT);
  w.varint(span.droppedEventsCount);
  for (const link of span.links) {
    w.tag(13, LEN);
    const at = w.begin();
    writeIds(w, link.context);
    writeAttributes(w, link.attributes, 4);
    w.tag(5, VARINT);
    w.varint(link.droppedAttributesCount ?? 0);
    w.tag(6, I32);
    w.fixed32(spanFlags(link.context.traceFlags, link.context.isRemote));
    w.end(at);
  }
  w.tag(14, VARINT);
  w.varint(span.droppedLinksCount);
  w.tag(15, LEN);
  const status = w.begin();
  if (span.status.message) {
    w.tag(2, LEN);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.varint(span.status.code);
  w.end(status);
  w.tag(16, I32);
  w.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
  w.end(msg);
}

/** The `Resource` message with its field tag, as ResourceSpans.resource. */
function writeResource(w: ProtobufSink, resource: Resource): void {
  w.tag(1, LEN);
  const at = w.begin();
  writeAttributes(w, resource.attributes, 1);
  w.tag(2, VARINT);
  w.varint(0);
  w.end(at);
}

/** Scope attributes are newer than core's InstrumentationScope type; the serializer reads them. */
type ScopeWithAttributes = InstrumentationScope & {
  attributes?: Attributes;
  droppedAttributesCount?: number;
};

/** The `InstrumentationScope` message with its field tag, as ScopeSpans.scope. */
function writeScope(w: ProtobufSink, scope: InstrumentationScope): void {
  w.tag(1, LEN);
  const at = w.begin();
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  const { attributes, droppedAttributesCount } = scope as ScopeWithAttributes;
  writeAttributes(w, attributes, 3);
  if (droppedAttributesCount) {
    w.tag(4, VARINT);
    w.varint(droppedAttributesCount);
  }
  w.end(at);
}

/** Spans of one resource and scope, encoded back to back as they ended. */
export interface SpanGroup {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly spans: ProtobufSink;
}

/**
 * The ExportTraceServiceRequest for encoded groups: one ResourceSpans per resource, one
 * ScopeSpans per scope in it, in the order the groups were opened (as the OTel serializer
 * groups them). Resource attributes must be settled (see `Resource.waitForAsyncAttributes`).
 */
export function encodeRequest(groups: Iterable<SpanGroup>): Uint8Array {
  const byResource = new Map<Resource, SpanGroup[]>();
  let size = 0;
  for (const g of groups) {
    const list = byResource.get(g.resource);
    if (list === undefined) byResource.set(g.resource, [g]);
    else list.push(g);
    size += g.spans.pos;
  }
  const w = new ProtobufSink(size + 4096);
  for (const [resource, list] of byResource) {
    w.tag(1, LEN);
    const rs = w.begin();
    writeResource(w, resource);
    for (const g of list) {
      w.tag(2, LEN);
      const ss = w.begin();
      writeScope(w, g.scope);
      w.raw(g.spans.buf.subarray(0, g.spans.pos));
      if (g.scope.schemaUrl) {
        w.tag(3, LEN);
        w.string(g.scope.schemaUrl);
      }
      w.end(ss);
    }
    if (resource.schemaUrl) {
      w.tag(3, LEN);
      w.string(resource.schemaUrl);
    }
    w.end(rs);
  }
  return w.buf.subarray(0, w.pos);
}
