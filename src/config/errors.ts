/**
 * How configuration problems are reported: every problem at once, each with the path of
 * the offending value, so one edit-restart cycle fixes the whole file.
 */

export interface ConfigProblem {
  /** Where: `providers[1].baseUrl`, `condense.models["gpt-4o"]`, or `file.yaml:3:7`. */
  readonly path: string;
  readonly message: string;
}

export type ConfigPath = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['providers', 1, 'baseUrl']` -> `providers[1].baseUrl`; odd keys are quoted. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** True when `path` is `prefix` or lies below it. */
export function isWithin(path: string, prefix: string): boolean {
  return (
    path === prefix ||
    (path.startsWith(prefix) && (path[prefix.length] === '.' || path[prefix.length] === '['))
  );
}

/** Thrown by loadConfig/parseConfig; `problems` lists every problem found, not the first. */
export class ConfigError extends Error {
  readonly code = 'LLMP_ERR_CONFIG';
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source = 'configuration') {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((p) => `${p.path}: ${p.message}`);
    super([`invalid ${source} (${count}):`, ...lines].join('\n'));
    this.problems = problems;
  }
}
