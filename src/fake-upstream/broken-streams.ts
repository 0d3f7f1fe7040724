/**
 * Streams that go wrong after a valid first event, so a proxy has already started relaying
 * when they break: cut off or stalled inside an event, an event past any sane size, an event
 * that is not JSON, invalid UTF-8 or a raw NUL in a delta. Each takes the answer's normal
 * frames and returns what to write and how the exchange stops; JSON answers get an analogue.
 */
import type { SseFrame } from './api.js';
import { BREAKS_AFTER_START, type Behaviour } from './behaviour.js';
import { framesThroughContent, type Ending } from './exchange.js';

export type BrokenStream =
  | 'break_mid_event'
  | 'stall_mid_event'
  | 'oversized_event'
  | 'non_json_event'
  | 'invalid_utf8'
  | 'nul_event';

export function isBrokenStream(behaviour: Behaviour): behaviour is BrokenStream {
  return BREAKS_AFTER_START.has(behaviour);
}

/** Longer than llm-proxy's bound on one pending SSE event (16 Mi characters). */
export const OVERSIZED_EVENT_CHARS = 16 * 1024 * 1024 + 1024;

/** Bytes that are not UTF-8: a lone continuation byte and a byte that never occurs. */
export const INVALID_UTF8 = Uint8Array.of(0x80, 0xff);

export interface Script {
  readonly frames: readonly SseFrame[];
  readonly ending: Ending;
}

/** What a broken stream writes: the frames through the second content chunk, then the fault. */
export function brokenStream(kind: BrokenStream, frames: readonly SseFrame[]): Script {
  const head = framesThroughContent(frames, 2);
  const rest = frames.slice(head.length);
  const next = rest[0] ?? { text: 'data: {"id":"cut"}\n\n', content: false };
  const cut: SseFrame = { text: halfOf(next.text), content: false };
  switch (kind) {
    case 'break_mid_event':
      return { frames: [...head, cut], ending: 'reset' };
    case 'stall_mid_event':
      return { frames: [...head, cut], ending: 'hang' };
    case 'oversized_event':
      // One unterminated line past the bound, then silence: only the bound can end it.
      return {
        frames: [...head, { text: `data: "${'x'.repeat(OVERSIZED_EVENT_CHARS)}`, content: false }],
        ending: 'hang',
      };
    case 'non_json_event':
      return {
        frames: [...head, { text: 'data: this is not json\n\n', content: true }, ...rest],
        ending: 'end',
      };
    case 'invalid_utf8':
      return { frames: corruptLast(head, INVALID_UTF8).concat(rest), ending: 'end' };
    case 'nul_event':
      return { frames: corruptLast(head, Uint8Array.of(0)).concat(rest), ending: 'end' };
  }
}

/**
 * Puts `bytes` inside the first text value of `text` (content, text or tool arguments), so
 * the fault sits in a JSON string; at the end when there is none.
 */
export function corrupt(text: string | Uint8Array, bytes: Uint8Array): Buffer {
  const buf = Buffer.from(text);
  const at = /"(content|text|arguments)":"/.exec(buf.toString('latin1'));
  const pos = at === null ? buf.length : at.index + at[0].length;
  return Buffer.concat([buf.subarray(0, pos), bytes, buf.subarray(pos)]);
}

function corruptLast(frames: SseFrame[], bytes: Uint8Array): SseFrame[] {
  const last = frames.at(-1);
  if (last === undefined) return frames;
  return [...frames.slice(0, -1), { text: corrupt(last.text, bytes), content: last.content }];
}

function halfOf(text: string | Uint8Array): Uint8Array {
  const buf = Buffer.from(text);
  return buf.subarray(0, Math.floor(buf.length / 2));
}
