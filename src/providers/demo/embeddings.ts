/**
 * The demo provider's embeddings: deterministic vectors (a hash of the input), answered in
 * the encoding the client asked for. The OpenAI SDK asks for `encoding_format: "base64"` by
 * default and decodes the string as little-endian float32s; a demo that answered floats
 * regardless would hand such a client a short vector of zeros.
 */
import { createHash } from 'node:crypto';
import type { EmbeddingsRequest } from '../../upstream/openai-types.js';
import { UpstreamError } from '../../upstream/index.js';

/**
 * The largest `dimensions` the demo serves: above any real embedding model's size (3072 for
 * text-embedding-3-large), so client code written for a real model runs unchanged, while a
 * body cannot make the demo build an unbounded vector.
 */
export const DEMO_MAX_DIMENSIONS = 4096;

/** The vector length for a request: its `dimensions` when given, else the provider's own. */
export function dimensionsFor(req: EmbeddingsRequest, configured: number): number {
  const asked = req.dimensions;
  if (asked === undefined) return configured;
  if (asked > DEMO_MAX_DIMENSIONS) {
    const message = `dimensions must be at most ${DEMO_MAX_DIMENSIONS} for the demo provider; got ${asked}`;
    throw new UpstreamError('client_error', message, {
      status: 400,
      clientError: {
        message,
        type: 'invalid_request_error',
        param: 'dimensions',
        code: 'invalid_value',
      },
    });
  }
  return asked;
}

/** One embedding as the wire carries it: floats, or base64 of little-endian float32s. */
export function encodeEmbedding(
  vector: readonly number[],
  format: EmbeddingsRequest['encoding_format'],
): number[] | string {
  if (format !== 'base64') return [...vector];
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/** A deterministic vector in [-1, 1] of `dims` values, from the input's SHA-256 chain. */
export function vectorOf(text: string, dims: number): number[] {
  const out: number[] = [];
  let block = createHash('sha256').update(text).digest();
  for (let i = 0; i < dims; i++) {
    if (i > 0 && i % 32 === 0) block = createHash('sha256').update(block).digest();
    out.push(Math.round(((block[i % 32]! / 255) * 2 - 1) * 1e6) / 1e6);
  }
  return out;
}
