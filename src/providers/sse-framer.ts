/**
 * Cuts a relayed SSE byte stream at event boundaries, so that what a client is sent never
 * ends inside an event. An upstream that breaks off, stalls or overflows mid-event then
 * leaves nothing half-written: the proxy's error event starts on a fresh line and the client
 * never sees the fragment (the OpenAI SDK raised a SyntaxError on `...chat.compldata: {...}`).
 *
 * A boundary is the end of a blank line: a run of line endings (CR, LF or CRLF) holding at
 * least two of them. It works on bytes, not text: CR and LF never occur inside a multi-byte
 * UTF-8 character, so these are exactly the boundaries SseParser dispatches events at.
 *
 * NOTE: the common chunk ends with `\n\n` and is passed on as it is, at the cost of two byte
 * reads; only a chunk that ends inside an event is cut (a view, no copy) and its tail held,
 * to be joined once with the chunk that completes the event. Holding whole events, rather
 * than complete lines, is deliberate: data lines already sent cannot be taken back, and the
 * client would join them to the error event's data.
 */

const LF = 10;
const CR = 13;

const isEol = (byte: number | undefined): boolean => byte === LF || byte === CR;

export class SseFramer {
  /** Bytes after the last boundary: an event not complete yet. */
  private held: Buffer[] = [];
  /** Line endings in the run of CR/LF bytes that everything so far ends with, capped at 2. */
  private endings = 0;
  /** The bytes so far end with CR, so a LF starting the next chunk completes that ending. */
  private lastCr = false;

  /**
   * The bytes through the last event boundary, held-back bytes first; undefined when `chunk`
   * completes no event (it is held). Returns `chunk` itself when it ends on a boundary and
   * nothing was held.
   */
  take(chunk: Buffer): Buffer | undefined {
    if (chunk.length === 0) return undefined;
    const cut = this.boundary(chunk);
    if (cut === -1) {
      this.held.push(chunk);
      return undefined;
    }
    const head = cut === chunk.length ? chunk : chunk.subarray(0, cut);
    const out = this.held.length === 0 ? head : Buffer.concat([...this.held, head]);
    this.held = cut === chunk.length ? [] : [chunk.subarray(cut)];
    return out;
  }

  /**
   * At the end of the stream: the held bytes completed with a blank line when they hold a
   * whole event whose blank line never came (`delivered`, as SseParser.end() decides: its
   * last line ended), else undefined. Forgets them either way.
   */
  end(delivered: boolean): Buffer | undefined {
    const held = this.held;
    this.held = [];
    if (!delivered || held.length === 0) return undefined;
    const last = held.at(-1)!;
    // The same ending again: after LF (or CRLF) a LF, after a lone CR a CR.
    return Buffer.concat([...held, Buffer.of(last[last.length - 1] ?? LF)]);
  }

  /** Index just past the last blank line in `chunk`, or -1; updates the carried state. */
  private boundary(chunk: Buffer): number {
    const n = chunk.length;
    if (chunk[n - 1] === LF && chunk[n - 2] === LF) {
      this.endings = 2;
      this.lastCr = false;
      return n;
    }
    // The run of line endings the chunk ends with decides the state carried to the next one.
    let start = n;
    while (start > 0 && isEol(chunk[start - 1])) start--;
    const carried = this.carried(chunk);
    const trailing = start < n ? this.endingsIn(chunk, start, n, carried) : 0;
    this.endings = Math.min(trailing, 2);
    this.lastCr = chunk[n - 1] === CR;
    if (trailing >= 2) return n;

    // Earlier runs, last first. Each search result is kept until the scan passes it, so a
    // chunk of many single line endings is scanned once per byte kind, not once per line.
    let lf = -2;
    let cr = -2;
    let pos = start;
    while (pos > 0) {
      if (lf === -2 || lf >= pos) lf = chunk.lastIndexOf(LF, pos - 1);
      if (cr === -2 || cr >= pos) cr = chunk.lastIndexOf(CR, pos - 1);
      const end = Math.max(lf, cr) + 1;
      if (end === 0) return -1;
      let begin = end - 1;
      while (begin > 0 && isEol(chunk[begin - 1])) begin--;
      if (this.endingsIn(chunk, begin, end, carried) >= 2) return end;
      pos = begin;
    }
    return -1;
  }

  /** Line endings the previous chunks' trailing run adds to a run starting this chunk. */
  private carried(chunk: Buffer): number {
    // A LF right after a carried CR is the second half of that CRLF, not another ending.
    return this.lastCr && chunk[0] === LF ? this.endings - 1 : this.endings;
  }

  /** Line endings in chunk[start, end) (all CR/LF), plus `carried` if it starts the chunk. */
  private endingsIn(chunk: Buffer, start: number, end: number, carried: number): number {
    let count = start === 0 ? carried : 0;
    for (let i = start; i < end; i++) {
      if (chunk[i] === LF && i > start && chunk[i - 1] === CR) continue;
      count++;
    }
    return count;
  }
}
