/**
 * Removes configured secrets (provider keys, auth header values) from text an upstream wrote,
 * before any of it reaches a client or a log. An upstream that echoes the key it was sent
 * rarely echoes it verbatim: JSON escapes it (`\/` is PHP's default, `\u0073` is legal
 * anywhere), a URL percent-encodes it, a debug dump base64- or hex-encodes it, a message
 * lower-cases it. So a secret is matched case-insensitively, in its base64 and hex forms, and
 * in the text as decoded from JSON escapes and percent-encoding.
 */
import { decodeEscapes } from '../upstream/index.js';

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Shorter values are not treated as secrets. NOTE: matched case-insensitively and through
 * their encodings, a short value redacts ordinary words (a 5-character key's base64 core is
 * 4 characters, `test` would blank "test" everywhere), and every configured header value is
 * a candidate, so `1` or `true` would too. A key under 8 characters is no secret worth the
 * name; the config accepts one, the scrubber does not pretend to protect it.
 */
export const MIN_SECRET_LENGTH = 8;

/** A text can hide a secret under this many layers of escaping (JSON inside JSON, ...). */
const MAX_DECODE_ROUNDS = 3;

export type Scrub = (text: string) => string;

/**
 * A scrubber for `secrets`, its patterns built once. A call costs a lower-cased copy of the
 * text and an indexOf per needle (the regex runs only on a hit), again for each layer of
 * escapes when the text has a `\` or `%` at all.
 */
export function createScrubber(secrets: Iterable<string>): Scrub {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of encodedForms(secret)) forms.add(form);
  }
  if (forms.size === 0) return (text) => text;
  // Longest first: at one position 'Bearer K' is replaced whole rather than K alone.
  const alternatives = [...forms].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(alternatives.map(escapeRegExp).join('|'), 'gi');
  const needles = detectionNeedles(alternatives);
  // NOTE: the case-insensitive regex over a 16 KiB body without any secret took 104-131 us
  // (one key and 'Bearer key': 10 forms); a lower-cased copy and an indexOf per needle take
  // 13-14 us (the old verbatim split/join: 2.5 us), so the regex runs only on a hit. A hit may
  // be false (a non-ASCII near-match), a miss is not, for the ASCII keys are made of.
  const replaced = (text: string): string => {
    const lower = text.toLowerCase();
    return needles.some((n) => lower.includes(n)) ? text.replace(pattern, REDACTED) : text;
  };

  return function scrub(text: string): string {
    let out = replaced(text);
    let view = out;
    for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
      const decoded = decodeEscapes(view);
      if (decoded === view) break;
      view = replaced(decoded);
      // A secret was hidden in the escapes: pass on the decoded text, scrubbed. Otherwise the
      // upstream's text is passed on as it wrote it.
      if (view !== decoded) out = view;
    }
    return out;
  };
}

/**
 * The strings that give `secret` away, to be matched case-insensitively (which covers
 * another case of the secret and both cases of hex): the secret, its hex, and the stable core
 * of its base64 (standard and url-safe) at each of the three offsets it can start at inside
 * a longer encoded text. The core at offset `a` skips the characters that share bits with the
 * `a` bytes before it and stops before the last one, which shares bits with what follows.
 * Over-matching (base64 is case-sensitive) only ever redacts more.
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set([secret, bytes.toString('hex')]);
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const core = shifted.slice(start, end);
    forms.add(core);
    forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms];
}

/**
 * The forms lower-cased, without those that contain another (every form of 'Bearer K'
 * contains one of K's): whatever matches a form contains one of these.
 */
function detectionNeedles(forms: readonly string[]): string[] {
  const lowered = [...new Set(forms.map((f) => f.toLowerCase()))];
  return lowered.filter((f) => !lowered.some((g) => g !== f && f.includes(g)));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
