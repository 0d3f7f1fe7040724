/**
 * The Redis side of shared health as pure functions: where the lock and the published result
 * of a provider live, the result's wire form, and when a published result is still news.
 * Results read back are validated: anything malformed (another writer, a schema change) is
 * treated like no result at all.
 */
import type { ProbeFailure, ProbeResult } from './health-state.js';
import { isRecord, parseRecord } from '../json.js';

/** Schema version in every key, so a release that changes the format reads nothing older. */
export const SHARED_HEALTH_SCHEMA = 'v1';

export interface SharedHealthKeys {
  /** Holds the instance id of the replica that probes `provider`. */
  lock(provider: string): string;
  /** Holds the latest published result for `provider`. */
  result(provider: string): string;
}

export function sharedHealthKeys(prefix: string): SharedHealthKeys {
  const base = `${prefix}:${SHARED_HEALTH_SCHEMA}:health`;
  return {
    lock: (provider) => `${base}:lock:${provider}`,
    result: (provider) => `${base}:result:${provider}`,
  };
}

/** A probe result as one replica published it for the others. */
export interface PublishedResult {
  ok: boolean;
  /** Probe latency; null when the probe failed. */
  latencyMs: number | null;
  /** Epoch ms when the probe finished (the publisher's clock). */
  at: number;
  /** Instance id of the publisher. */
  by: string;
  /** Why the probe failed, when it did (so every replica's log can say why). */
  failure?: ProbeFailure;
}

/** The longest failure reason read back: anything longer is cut. */
const MAX_REASON_CHARS = 400;

export function encodeResult(result: ProbeResult, at: number, by: string): string {
  const published: PublishedResult = {
    ok: result.ok,
    latencyMs: result.ok ? Math.round(result.latencyMs * 10) / 10 : null,
    at,
    by,
  };
  if (!result.ok && result.failure !== undefined) published.failure = result.failure;
  return JSON.stringify(published);
}

/** The result in `text`, or undefined when it is absent or not well formed. */
export function decodeResult(text: string | null): PublishedResult | undefined {
  if (text === null) return undefined;
  const raw = parseRecord(text);
  if (raw === undefined) return undefined;
  const { ok, latencyMs, at, by } = raw;
  if (typeof ok !== 'boolean' || typeof by !== 'string' || by === '') return undefined;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  if (ok && (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0))
    return undefined;
  const result: PublishedResult = { ok, latencyMs: ok ? (latencyMs as number) : null, at, by };
  const failure = ok ? undefined : decodeFailure(raw.failure);
  if (failure !== undefined) result.failure = failure;
  return result;
}

/** A published failure's reason, status and code; undefined when absent or malformed. */
function decodeFailure(raw: unknown): ProbeFailure | undefined {
  if (!isRecord(raw) || typeof raw.reason !== 'string') return undefined;
  const failure: ProbeFailure = { reason: raw.reason.slice(0, MAX_REASON_CHARS) };
  if (Number.isInteger(raw.status)) failure.status = raw.status as number;
  if (typeof raw.code === 'string') failure.code = raw.code;
  return failure;
}

/**
 * A published result this replica should act on now: present, younger than `maxAgeMs`
 * (older means its publisher stopped: no news rather than stale health), and not the one it
 * used last round (so hysteresis counts each probe once, whatever the two loops' phases).
 */
export function newsFrom(
  published: PublishedResult | undefined,
  lastUsed: PublishedResult | undefined,
  now: number,
  maxAgeMs: number,
): ProbeResult | undefined {
  if (published === undefined || now - published.at > maxAgeMs) return undefined;
  if (lastUsed !== undefined && lastUsed.at === published.at && lastUsed.by === published.by)
    return undefined;
  if (published.ok) return { ok: true, latencyMs: published.latencyMs ?? 0 };
  return published.failure === undefined
    ? { ok: false }
    : { ok: false, failure: published.failure };
}
