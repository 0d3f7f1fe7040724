/**
 * A growable protobuf byte writer for the OTLP span encoder: varints, fixed-width numbers,
 * strings and nested messages whose length prefix is patched in when they end. The buffer is
 * kept and reused by its owner, so encoding a span allocates nothing on the JS heap.
 */

/** Bytes reserved for a nested message's length: most of ours are under 128 bytes. */
const RESERVED = 1;

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** The value of a hex digit's char code (either case); 0 for anything else. */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0;
}

export class ProtobufSink {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Makes room for `n` more bytes, doubling the buffer as needed. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An unsigned varint of up to 32 bits, or a 64-bit two's-complement one outside that. */
  varint(value: number): void {
    if (value >= 0 && value < 0x80) {
      // Tags, small counts and lengths: most varints of a span.
      if (this.pos === this.buf.length) this.ensure(1);
      this.buf[this.pos++] = value;
      return;
    }
    this.ensure(10);
    const b = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        b[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      b[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[this.pos++] = low;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(low >>> 0, this.pos);
    this.buf.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A length-prefixed UTF-8 string: a byte loop for ASCII, Buffer#write otherwise. */
  string(s: string): void {
    const len = s.length;
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(len);
      this.ensure(len);
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < len; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }

  bytes(data: Uint8Array): void {
    this.varint(data.length);
    this.raw(data);
  }

  /** Length-prefixed bytes from a hex string (trace and span ids), without an interim array. */
  hex(id: string): void {
    const n = id.length >>> 1;
    this.ensure(1 + n);
    const b = this.buf;
    let p = this.pos;
    // Ids are 16 or 8 bytes: the length is one byte. The SDK's ids are hex; anything else
    // reads as 0 (the serializer's hexToBinary garbles it differently; neither validates).
    b[p++] = n;
    for (let i = 0; i < n; i++) {
      b[p++] = (nibble(id.charCodeAt(2 * i)) << 4) | nibble(id.charCodeAt(2 * i + 1));
    }
    this.pos = p;
  }

  /** Opens a nested message: returns where its length goes, for `end`. */
  begin(): number {
    this.ensure(RESERVED);
    const at = this.pos;
    this.pos += RESERVED;
    return at;
  }

  /** Closes the nested message opened at `at`, moving its body if the length needs more room. */
  end(at: number): void {
    const len = this.pos - at - RESERVED;
    const size = varintSize(len);
    if (size > RESERVED) {
      this.ensure(size - RESERVED);
      this.buf.copyWithin(at + size, at + RESERVED, this.pos);
      this.pos += size - RESERVED;
    }
    let p = at;
    let v = len;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  /** Appends raw, already-encoded bytes. */
  raw(data: Uint8Array): void {
    const n = data.length;
    this.ensure(n);
    if (n > 64) {
      this.buf.set(data, this.pos);
      this.pos += n;
      return;
    }
    // A byte loop beats TypedArray#set's fixed cost for the short runs cached keys are.
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = data[i]!;
    this.pos = p;
  }
}
