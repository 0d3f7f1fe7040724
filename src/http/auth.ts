/**
 * Key checks for proxy routes, admin routes and (optionally) /metrics. Comparison is
 * constant-time over SHA-256 digests, so neither the key's content nor its length leaks
 * through timing. Keys are never logged or echoed.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// One-shot hashing (Node >= 20.12): half the cost of a createHash() chain on the hot path.
const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * A client key's response cache scope (cache.scope: key): the same for a key in every replica
 * and whatever its place in the list, and not the key, nor the digest it is checked against.
 */
const scopeOfKey = (key: string): string =>
  hash('sha256', `llm-proxy cache scope\n${key}`, 'base64url');

export class KeySet {
  private readonly digests: Buffer[];
  // Computed once here, so a request pays nothing for its scope beyond finding its key.
  private readonly scopes: string[];
  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
    this.scopes = keys.map(scopeOfKey);
  }
  get size(): number {
    return this.digests.length;
  }
  has(candidate: string): boolean {
    return this.scopeOf(candidate) !== undefined;
  }
  /**
   * The cache scope of the configured key equal to `candidate`, undefined when none is.
   * Checks every configured key (no early exit) so timing does not reveal which matched.
   */
  scopeOf(candidate: string): string | undefined {
    const d = digest(candidate);
    let found: string | undefined;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(this.digests[i]!, d)) found = this.scopes[i];
    }
    return found;
  }
}

/**
 * More than one Authorization header in `rawHeaders`: the message is malformed (RFC 9110: the
 * field is not a list) and Node keeps only the first, so which key was meant is ambiguous.
 */
export function repeatedAuthorization(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return true;
  }
  return false;
}

/** The presented key: `Authorization: Bearer K` or `x-api-key: K`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m !== null) return m[1]!.trim();
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x !== '' ? x.trim() : undefined;
}

export function bearer(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec((headers.authorization ?? '').trim());
  return m?.[1]?.trim();
}
