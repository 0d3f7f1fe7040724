/**
 * HOST and PORT from the environment win over the file, as container platforms expect.
 * Applied after interpolation (an env value is never a template) and before validation
 * (a bad PORT is reported like a bad `server.port`).
 */
import type { Env } from './interpolate.js';
import { isRecord } from '../json.js';

export interface ServerEnvOverride {
  readonly tree: unknown;
  /** `server.port` -> `PORT` for each override applied, to say where a bad value came from. */
  readonly sources: ReadonlyMap<string, string>;
}

const OVERRIDES = [
  ['HOST', 'host'],
  ['PORT', 'port'],
] as const;

export function applyServerEnv(tree: unknown, env: Env): ServerEnvOverride {
  const sources = new Map<string, string>();
  if (!isRecord(tree)) return { tree, sources };
  const server = tree['server'] ?? {};
  if (!isRecord(server)) return { tree, sources };
  const next: Record<string, unknown> = { ...server };
  for (const [variable, key] of OVERRIDES) {
    const value = env[variable];
    // Empty counts as unset: `PORT= npm start` should not fail on an empty port.
    if (value === undefined || value === '') continue;
    next[key] = value;
    sources.set(`server.${key}`, variable);
  }
  if (sources.size === 0) return { tree, sources };
  return { tree: { ...tree, server: next }, sources };
}
