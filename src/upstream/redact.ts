/**
 * Redaction by shape, for free text from or about an upstream that reaches a client or a log
 * (the all-failed summary, health log lines): a second line of defence behind the adapters'
 * scrubbers (providers/scrub.ts), which know the configured keys themselves. This one knows
 * only what credentials look like: auth headers, provider keys (sk-..., sk-proj-...,
 * sk-ant-..., any case, with the `/+.=` some keys carry), key=value pairs, URL user-info.
 */
import { decodeEscapes } from './escapes.js';

const SECRETS: readonly [RegExp, string][] = [
  [/\bbearer\s+\S+/gi, 'Bearer [redacted]'],
  [/\b(?:sk|pk|rk)-[\w\-/+.=]{8,}/gi, '[redacted]'],
  [
    /\b((?:api[_-]?key|x-api-key|key|token|secret|password|authorization)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi,
    '$1[redacted]',
  ],
  [/\/\/[^/\s@]+@/g, '//[redacted]@'],
];

/**
 * `text` on one line, decoded from escapes, with anything shaped like a credential
 * redacted, then cut to `maxChars` (an ellipsis marks the cut).
 */
export function redactCredentials(text: string, maxChars: number): string {
  let clean = decoded(text).replace(/\s+/g, ' ').trim();
  for (const [pattern, replacement] of SECRETS) clean = clean.replace(pattern, replacement);
  return clean.length > maxChars ? `${clean.slice(0, maxChars - 1)}…` : clean;
}

/**
 * Up to three layers of JSON escapes (`\/`, `\u0073`) and percent-encoding decoded, so a
 * credential written that way has its shape again.
 */
function decoded(text: string): string {
  let out = text;
  for (let round = 0; round < 3; round++) {
    const next = decodeEscapes(out);
    if (next === out) break;
    out = next;
  }
  return out;
}
