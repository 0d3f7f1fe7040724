/**
 * One layer of JSON string escapes and URL percent-encoding, decoded so that a secret written
 * through them can be recognised (providers/scrub.ts, and redact.ts by credential shapes).
 * Tolerant: anything malformed is left as it is. NOTE: hand-written scans, not
 * `replace(regex, fn)`: on 16 KiB (the most of an error body read) made only of escapes,
 * the regex and its callback per escape took 5.5 ms for `\/`, 1.5 ms for `\u0041` and
 * 8.1 ms for `%41 `; these scans 0.4, 0.2 and 0.3 ms (min of 10 runs, shared 2-core box at
 * load 10). A text without `\` or `%` costs one indexOf each.
 */

/** JSON escapes, then percent-encoding (a run of `%XX` as UTF-8), one layer of each. */
export function decodeEscapes(text: string): string {
  return decodePercent(decodeJsonEscapes(text));
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** `\/`, `\"`, `\\`, `\n`..., `\uXXXX` decoded; an unknown or cut escape kept as written. */
export function decodeJsonEscapes(text: string): string {
  let at = text.indexOf('\\');
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0 && at + 1 < text.length) {
    const next = text[at + 1]!;
    let decoded = SIMPLE_ESCAPES[next];
    let length = 2;
    if (next === 'u') {
      const code = hex4(text, at + 2);
      decoded = code < 0 ? undefined : String.fromCharCode(code);
      length = 6;
    }
    if (decoded === undefined) {
      at = text.indexOf('\\', at + 1);
      continue;
    }
    out += text.slice(from, at) + decoded;
    from = at + length;
    at = text.indexOf('\\', from);
  }
  return out + text.slice(from);
}

/** Runs of `%XX` decoded as UTF-8 (an ASCII run without a Buffer); a stray `%` kept. */
export function decodePercent(text: string): string {
  let at = text.indexOf('%');
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const bytes: number[] = [];
    let end = at;
    for (let b = hex2(text, end + 1); b >= 0; b = hex2(text, end + 1)) {
      bytes.push(b);
      end += 3;
      if (text[end] !== '%') break;
    }
    if (bytes.length === 0) {
      at = text.indexOf('%', at + 1);
      continue;
    }
    const ascii = bytes.every((b) => b < 0x80);
    out += text.slice(from, at);
    out += ascii ? String.fromCharCode(...bytes) : Buffer.from(bytes).toString('utf8');
    from = end;
    at = text.indexOf('%', from);
  }
  return out + text.slice(from);
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1; // a-f, A-F
}

function hex2(text: string, at: number): number {
  if (at + 2 > text.length) return -1;
  const hi = hexDigit(text.charCodeAt(at));
  const lo = hexDigit(text.charCodeAt(at + 1));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hex4(text: string, at: number): number {
  const hi = hex2(text, at);
  const lo = hex2(text, at + 2);
  return hi < 0 || lo < 0 ? -1 : (hi << 8) | lo;
}
