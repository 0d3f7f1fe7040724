/**
 * From an already-parsed tree (YAML or a plain object) to a validated Config: interpolate,
 * validate against the schema, run the cross-section checks, and report every problem.
 */
import { crossCheck, type CrossCheckInput } from './cross-checks.js';
import { ConfigError, isWithin, type ConfigProblem } from './errors.js';
import { interpolate, type Env } from './interpolate.js';
import { isRecord } from '../json.js';
import { errorMap, problemsFromIssues } from './issues.js';
import { providerSchema, type ProviderConfig } from './provider-schema.js';
import { condenseSchema, configSchema, type Config } from './schema.js';

export type Validation =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

/** Validates an interpolated tree; never throws. */
export function validateConfig(input: unknown): Validation {
  const tree = withoutNullKeys(input);
  const result = configSchema.safeParse(tree, { error: errorMap });
  const problems = result.success
    ? []
    : problemsFromIssues(result.error.issues, configSchema, tree);
  problems.push(...crossCheck(result.success ? fromConfig(result.data) : fromTree(tree)));
  if (result.success && problems.length === 0) return { ok: true, config: result.data };
  return { ok: false, problems };
}

/**
 * Interpolates `${NAME}` references from `env` and validates. Throws ConfigError listing
 * every problem. For callers that already hold a parsed object (tests, createApp callers).
 */
export function parseConfig(raw: unknown, env: Env, source?: string): Config {
  const interpolated = interpolate(raw, env);
  return configOrThrow(interpolated.problems, validateConfig(interpolated.value), source);
}

/**
 * Merges interpolation problems with validation ones and throws if there are any. A value
 * whose env var is missing was replaced by "", so its own validation complaint ("empty
 * key") would only repeat the cause; it is dropped.
 */
export function configOrThrow(
  earlier: readonly ConfigProblem[],
  validation: Validation,
  source?: string,
): Config {
  if (validation.ok && earlier.length === 0) return validation.config;
  const later = validation.ok ? [] : validation.problems;
  const shadowed = (p: ConfigProblem): boolean => earlier.some((e) => isWithin(p.path, e.path));
  const problems = [...earlier, ...later.filter((p) => !shadowed(p))];
  throw new ConfigError(bySection(problems), source);
}

const SECTIONS: readonly string[] = Object.keys(configSchema.shape);

/** Groups problems by section, then by array entry, so providers[3]'s problems sit together. */
function bySection(problems: ConfigProblem[]): ConfigProblem[] {
  const rank = (path: string): [number, number] => {
    const match = /^([A-Za-z_$][\w$]*)(?:\[(\d+)\])?/.exec(path);
    return [SECTIONS.indexOf(match?.[1] ?? ''), match?.[2] === undefined ? -1 : Number(match[2])];
  };
  // Array.prototype.sort is stable, so problems keep their order within a group.
  return problems
    .map((problem) => ({ problem, rank: rank(problem.path) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1])
    .map(({ problem }) => problem);
}

function fromConfig(config: Config): CrossCheckInput {
  return {
    providerNames: config.providers.map((p) => p.name),
    providers: config.providers,
    condense: config.condense,
  };
}

function fromTree(tree: unknown): CrossCheckInput {
  const root = isRecord(tree) ? tree : {};
  const entries = Array.isArray(root['providers']) ? (root['providers'] as unknown[]) : [];
  const parsed: ProviderConfig[] = [];
  for (const entry of entries) {
    const result = providerSchema.safeParse(entry);
    if (result.success) parsed.push(result.data);
  }
  const condense = condenseSchema.safeParse(root['condense'] ?? {});
  return {
    providerNames: entries.map((p) =>
      isRecord(p) && typeof p['name'] === 'string' ? p['name'] : undefined,
    ),
    providers: parsed.length === entries.length && entries.length > 0 ? parsed : undefined,
    condense: condense.success ? condense.data : undefined,
  };
}

/**
 * In YAML `key:` with nothing after it is null. Treating such keys as absent means that
 * commenting out every child of a section leaves its defaults instead of failing.
 */
function withoutNullKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullKeys);
  if (!isRecord(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, withoutNullKeys(value)]),
  );
}
