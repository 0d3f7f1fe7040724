/**
 * `${NAME}` interpolation over an already-parsed config tree. Pure: the input is not
 * mutated and the environment is passed in. Only string values are touched (never keys),
 * and substituted text is not scanned again, so an env value can never inject a reference.
 *
 * - `${NAME}`: the variable's value; unset is a problem at the value's path.
 * - `${NAME:-default}`: the default when NAME is unset or empty (as in POSIX sh).
 * - `$${`: a literal `${`.
 */
import { formatPath, type ConfigPath, type ConfigProblem } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolated<T> {
  readonly value: T;
  readonly problems: ConfigProblem[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const MALFORMED =
  'malformed ${...} reference: write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $${ for a literal ${';

/** Interpolates one string; `problems` have no path (the caller knows where it was). */
export function interpolateString(text: string, env: Env): Interpolated<string> {
  const problems: ConfigProblem[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
    } else if (text.startsWith('${', dollar)) {
      const close = text.indexOf('}', dollar + 2);
      const match = close < 0 ? null : REFERENCE.exec(text.slice(dollar + 2, close));
      if (match === null) {
        problems.push({ path: '', message: MALFORMED });
        // Skip the rest of this reference; its text may be half a secret.
        i = close < 0 ? text.length : close + 1;
        continue;
      }
      const [, name = '', fallback] = match;
      const value = env[name];
      if (fallback !== undefined) out += value === undefined || value === '' ? fallback : value;
      else if (value !== undefined) out += value;
      else problems.push({ path: '', message: `environment variable ${name} is not set` });
      i = close + 1;
    } else {
      out += '$';
      i = dollar + 1;
    }
  }
  return { value: out, problems };
}

/**
 * Interpolates every string in a tree of plain objects and arrays. A missing variable
 * becomes an empty string in the result, and a problem at the value's path.
 */
export function interpolate(tree: unknown, env: Env): Interpolated<unknown> {
  const problems: ConfigProblem[] = [];
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') {
      const result = interpolateString(node, env);
      for (const p of result.problems)
        problems.push({ path: formatPath(path), message: p.message });
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(node)) {
      // fromEntries defines own properties, so a "__proto__" key stays a (rejected) key.
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]),
      );
    }
    return node;
  };
  return { value: walk(tree, []), problems };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
