/**
 * Cuts text into segments the tokenizer can encode in bounded time, without changing the
 * count of ordinary text.
 *
 * Byte-pair encoding is quadratic in the length of one pre-tokenizer piece, and o200k_base's
 * pre-tokenizer makes one piece of any run of letters, of punctuation or of whitespace:
 * `countTokens('a'.repeat(200_000))` took 17 s, 60,000 CJK characters 16 s, all of it on the
 * event loop. Encoding segments separately bounds every piece by the segment's length.
 *
 * Exactness: a segment ends at a *boundary*, a position where the pre-tokenizer always ends
 * a piece whatever comes before or after, so encoding the two sides apart gives the same
 * tokens as encoding them together. Three such positions are cheap to recognise:
 * - a space after a non-space (the piece before cannot take a space, except as its first
 *   character);
 * - after a letter, a character that is not a letter, a mark or an apostrophe (a letter
 *   piece only goes on with letters, marks, or a contraction like 's);
 * - after a digit, a non-digit (digits only ever form digit pieces).
 * The pre-tokenizer has no lookbehind, and its one lookahead (`\s+(?!\S)`) reads no further
 * than a whitespace piece, so the piece structure on either side does not change.
 *
 * Only a stretch of over MAX_RUN / 2 characters with no boundary (no word, number or space
 * in it: a pathological run) is cut where there is none; its count may then differ by about
 * a token per cut. Ordinary prose, code, JSON, base64 and punctuated CJK text meet a
 * boundary every few characters, so their counts are exactly the tokenizer's.
 *
 * NOTE: MAX_RUN = 512, measured on a shared 2-core box (o200k_base, gpt-tokenizer 4, merge
 * cache off): one piece of 512 code units takes a median 0.3 ms ('a', spaces, '!'), 0.5 ms
 * (emoji) and 1.2-2.7 ms (random CJK, 1.5 KB of UTF-8); 200,000 'a' count in ~0.1-0.2 s and
 * 60,000 random CJK characters in ~0.3-0.7 s, against 17 s and 16 s whole. At 1,024 a CJK
 * piece took ~4x as long and the total nearly doubled; at 256 or 128 totals were no better,
 * and shorter stretches of ordinary text (long Thai phrases) would be cut inexactly.
 */

/** Longest stretch (UTF-16 code units) without a boundary that is left uncut. */
export const MAX_RUN = 512;
const HALF = MAX_RUN / 2;

/**
 * From lastIndex, the first boundary among the next HALF characters (sticky, so the search
 * never runs on to the end of a long text).
 */
const BOUNDARY = new RegExp(
  `[^]{0,${HALF - 1}}?(?:(?<=\\S)(?= )|(?<=\\p{L})(?=[^\\p{L}\\p{M}'])|(?<=\\p{N})(?=\\P{N}))`,
  'uy',
);

const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * The segments of `text`, in order, joined they are `text`. Pieces never span segments, so
 * no piece is longer than MAX_RUN characters. Text without a long pathological run comes
 * back whole, as one segment.
 */
export function* boundedSegments(text: string): Generator<string, void, undefined> {
  let start = 0;
  // A known piece boundary (or a cut), from which the next boundary is looked for.
  let at = 0;
  while (text.length - at > MAX_RUN) {
    BOUNDARY.lastIndex = at + HALF;
    const found = BOUNDARY.exec(text);
    if (found !== null) {
      at = found.index + found[0].length;
      continue;
    }
    // No boundary in (at + HALF, at + MAX_RUN]: cut there anyway, between code points.
    let cut = at + MAX_RUN;
    if (isLowSurrogate(text.charCodeAt(cut))) cut--;
    yield text.slice(start, cut);
    start = at = cut;
  }
  yield start === 0 ? text : text.slice(start);
}
