import { describe, expect, it } from 'vitest';
import { ProtobufSink } from './protobuf-sink.js';

const bytes = (write: (w: ProtobufSink) => void, capacity = 1): number[] => {
  const w = new ProtobufSink(capacity);
  write(w);
  return [...w.buf.subarray(0, w.pos)];
};

describe('ProtobufSink', () => {
  it('writes varints at their boundaries, negatives as 64-bit two’s complement', () => {
    expect(bytes((w) => w.varint(127))).toEqual([0x7f]);
    expect(bytes((w) => w.varint(128))).toEqual([0x80, 0x01]);
    expect(bytes((w) => w.varint(2 ** 32))).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(bytes((w) => w.varint(-1))).toEqual([...new Array<number>(9).fill(0xff), 0x01]);
  });

  it('decodes hex ids of either case into length-prefixed bytes', () => {
    expect(bytes((w) => w.hex('0aF7b7AD'))).toEqual([4, 0x0a, 0xf7, 0xb7, 0xad]);
  });

  it('moves a nested message when its length needs more than one byte, growing as needed', () => {
    const out = bytes((w) => {
      const at = w.begin();
      w.raw(new Uint8Array(200).fill(7));
      w.end(at);
    });
    expect(out.slice(0, 2)).toEqual([0xc8, 0x01]);
    expect(out).toHaveLength(202);
    expect(out.slice(2).every((b) => b === 7)).toBe(true);
  });

  it('writes non-ASCII strings as UTF-8 with their byte length', () => {
    expect(bytes((w) => w.string('é✓'))).toEqual([5, 0xc3, 0xa9, 0xe2, 0x9c, 0x93]);
  });
});
