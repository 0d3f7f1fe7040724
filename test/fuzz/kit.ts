/**
 * The fuzz test's kit: one seeded PRNG (runs replay exactly), the case type that says what
 * the proxy must answer, and builders of valid bodies and odd strings the generators mutate.
 */
export const FUZZ = {
  key: 'fuzz-proxy-key-1',
  admin: 'fuzz-admin-token',
  metrics: 'fuzz-metrics-token',
  bodyLimit: 32 * 1024,
} as const;

export interface Expect {
  status: readonly number[];
  code?: readonly string[];
  /** The `param` the error must name (exactly, or as a prefix with `[`/`.` after it). */
  param?: readonly string[];
}

export interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** A string or bytes (sent with Content-Length), or chunks (sent chunked). */
  body?: string | Buffer | Buffer[];
  /** Bytes written to a raw socket instead (HTTP no client library would send). */
  raw?: string;
  expect: Expect;
}

/** mulberry32: small, fast, good enough, and the same on every machine. */
export function prng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}

export interface Rng {
  next(): number;
  /** Inclusive on both ends. */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export const AUTH = { authorization: `Bearer ${FUZZ.key}` };
export const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' };
export const E400 = { status: [400], code: ['invalid_request_body'] } as const;

export const ODD = [
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\u0000', // NUL
  '\u200f', // right-to-left mark
  '\u202e', // right-to-left override
  '\ufeff', // byte order mark
  '\uffff', // noncharacter
  '😀', // astral
  '\u0301', // lone combining accent
  '\n\r\t',
  '"\\',
];

export function oddString(r: Rng, max = 40): string {
  let s = '';
  const n = r.int(1, max);
  for (let i = 0; i < n; i++)
    s += r.chance(0.5) ? r.pick(ODD) : String.fromCharCode(r.int(32, 126));
  return s;
}

export function validChat(r: Rng): Record<string, unknown> {
  return {
    model: r.pick(['demo-model', 'gpt-4o-mini']),
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: `hello ${r.int(0, 1e6)}` },
    ],
    ...(r.chance(0.3) ? { stream: true } : {}),
  };
}

export function validEmbeddings(r: Rng): Record<string, unknown> {
  return { model: 'text-embedding-3-small', input: `text ${r.int(0, 1e6)}` };
}

export const long = (n: number): string => 'x'.repeat(n);
