/**
 * Scalar field builders shared by the schema. Interpolation always yields strings, so
 * numeric and boolean fields also accept their spelling as a string: `port: ${PORT:-8080}`
 * must work even though YAML sees the unquoted reference as text.
 */
import { z } from 'zod';

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function numberish(value: unknown): unknown {
  return typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value.trim()) : value;
}

function booleanish(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** An integer in [min, max]; accepts "42" as 42. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(numberish, z.number().int().min(min).max(max));
}

/** An integer >= 0 (delays, counts that may be zero). */
export function nonNegativeInt() {
  return int(0);
}

/** An integer >= 1 (timeouts, sizes, limits). */
export function positiveInt() {
  return int(1);
}

/** A number in [0, 1]. */
export function fraction() {
  return z.preprocess(numberish, z.number().min(0).max(1));
}

/** A boolean; accepts "true" / "false". */
export function flag() {
  return z.preprocess(booleanish, z.boolean());
}

/** An http(s) URL; trailing slashes are dropped so adapters can append `/chat/completions`. */
export function httpUrl() {
  return z
    .url({ protocol: /^https?$/, error: 'Invalid URL (expected http:// or https://)' })
    .transform((url) => url.replace(/\/+$/, ''));
}

/** A redis:// or rediss:// URL. NOTE: it may carry a password; never log it. */
export function redisUrl() {
  return z.url({ protocol: /^rediss?$/, error: 'Invalid URL (expected redis:// or rediss://)' });
}

/**
 * An optional secret where an empty string (e.g. `${TOKEN:-}`) means "not set". Only for
 * secrets whose absence is the safe choice (it locks something or the upstream refuses).
 */
export function optionalSecret() {
  return z
    .string()
    .transform((value) => (value === '' ? undefined : value))
    .optional();
}

/** A secret that must not be empty: an empty value almost always means an unset env var. */
export function requiredSecret(what: string) {
  return z.string().min(1, `empty ${what}: is the env var set?`);
}
