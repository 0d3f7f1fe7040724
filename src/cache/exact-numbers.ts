/**
 * A request body's big integers as the client wrote them, for the cache key. JSON.parse rounds
 * an integer past 2^53 to the nearest double, but the body goes upstream as written and is
 * exact there (a Python int, a Go int64/uint64 field): seeds 9007199254740993 and
 * 9007199254740992 are two requests upstream and one after parsing. Here the body is parsed
 * again with each such integer kept as its text (an ExactNumber), so the key tells them apart.
 *
 * Only integers: a literal with a fraction or an exponent is a double in the JSON parsers
 * providers run (Python's json, Go's float64 fields) as it is here, so its parsed value is
 * what upstream sees. A literal too large for a double (1e400, Infinity here) is kept as text
 * too, since JSON.stringify would write +/-Infinity alike as null.
 *
 * NOTE: Node 20's JSON.parse gives a reviver no source text, so an exact parse means a parser
 * of our own, and it costs nearly the key itself: 10.6 us for a 1 KB chat body against 12 us
 * for the whole key (JSON.parse: 2.6 us). A regular expression over the text for number-like
 * runs was rejected too: 0.75 ns a byte, +6% on every key, and fooled by digits in prose.
 * Instead the key's own canonical walk, which visits every number anyway, notes one that is
 * not below 2^53 in magnitude (or not finite), and only then is the text parsed again here.
 * Measured (scratch A/B, CPU time, interleaved rounds, 2 shared cores under load, 1 KB chat
 * body): today's key 11.2 us (min) / 12.0-12.5 us (median); with this, numbers all below
 * 2^53: 11.5 / 12.4-12.7 us, within the noise of a run; a body with a seed past 2^53: 37 us.
 */
import { isRecord } from '../json.js';

/** A number literal kept as written because parsing would change its value. */
export class ExactNumber {
  constructor(readonly text: string) {}
}

/** True for a parsed number that a literal may have reached only by rounding. */
export const mayBeRounded = (n: number): boolean => !(Math.abs(n) < 2 ** 53);

/**
 * The body of `text` (a JSON object JSON.parse accepted) with every rounded integer, and every
 * literal too large for a double, as an ExactNumber; undefined when there is none (the
 * JSON.parse value then keys it as well).
 */
export function parseExact(text: string): Record<string, unknown> | undefined {
  const parser = new ExactParser(text);
  const value = parser.value();
  return parser.kept && isRecord(value) ? value : undefined;
}

/** Whether a literal is kept as text: an integer of magnitude 2^53 or more, or beyond a double. */
export function keptAsText(literal: string): boolean {
  const n = Number(literal);
  if (!Number.isFinite(n)) return true;
  return !Number.isSafeInteger(n) && /^-?\d+$/.test(literal);
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A parser for text JSON.parse has already accepted. Like JSON.parse, a repeated member's
 * last value counts and `__proto__` is an ordinary member. Still, it checks each step, so a
 * text it was not meant for fails rather than loops.
 */
class ExactParser {
  private at = 0;
  /** An ExactNumber was made. */
  kept = false;

  constructor(private readonly text: string) {}

  value(): unknown {
    this.skipSpace();
    switch (this.text[this.at]) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.word('true', true);
      case 'f':
        return this.word('false', false);
      case 'n':
        return this.word('null', null);
      default:
        return this.number();
    }
  }

  private object(): Record<string, unknown> {
    const members: [string, unknown][] = [];
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return {};
    }
    for (;;) {
      this.skipSpace();
      const name = this.string();
      this.skipSpace();
      this.expect(':');
      members.push([name, this.value()]);
      // fromEntries defines members (no __proto__ setter); a repeated name keeps its last value.
      if (this.endOf('}')) return Object.fromEntries(members);
    }
  }

  private array(): unknown[] {
    const items: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === ']') {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      if (this.endOf(']')) return items;
    }
  }

  /** After a member or item: true at the closing bracket, false at a comma. */
  private endOf(close: string): boolean {
    this.skipSpace();
    const c = this.text[this.at++];
    if (c === close) return true;
    if (c !== ',') throw new SyntaxError(`unexpected ${c ?? 'end'} at ${this.at - 1}`);
    return false;
  }

  private string(): string {
    if (this.text[this.at] !== '"') throw new SyntaxError(`expected a string at ${this.at}`);
    let end = this.at;
    for (;;) {
      end = this.text.indexOf('"', end + 1);
      if (end < 0) throw new SyntaxError('unterminated string');
      let slashes = 0;
      while (this.text[end - 1 - slashes] === '\\') slashes++;
      if (slashes % 2 === 0) break;
    }
    const value = JSON.parse(this.text.slice(this.at, end + 1)) as string;
    this.at = end + 1;
    return value;
  }

  private number(): number | ExactNumber {
    NUMBER.lastIndex = this.at;
    const literal = NUMBER.exec(this.text)?.[0];
    if (literal === undefined) throw new SyntaxError(`unexpected token at ${this.at}`);
    this.at += literal.length;
    if (!keptAsText(literal)) return Number(literal);
    this.kept = true;
    return new ExactNumber(literal);
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at))
      throw new SyntaxError(`unexpected token at ${this.at}`);
    this.at += word.length;
    return value;
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) throw new SyntaxError(`expected ${c} at ${this.at}`);
    this.at++;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      // JSON's whitespace: space, tab, line feed, carriage return.
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.at++;
      else return;
    }
  }
}
