/**
 * Turns zod issues into config problems a person can act on: one problem per unknown key
 * (with a "did you mean" when a known key is close), "required" for missing values, and
 * the list of provider types when `type` is wrong. Messages never include input values,
 * which may be secrets.
 */
import type { z } from 'zod';
import { formatPath, type ConfigPath, type ConfigProblem } from './errors.js';

/** The error map used for every parse: a missing value reads "required". */
export function errorMap(issue: { code: string; input?: unknown }): string | undefined {
  return issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined;
}

export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  tree: unknown,
): ConfigProblem[] {
  return issues.flatMap((issue): ConfigProblem[] => {
    const path = formatPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, issue.path, tree);
        return issue.keys.map((key) => ({
          path: formatPath([...issue.path, key]),
          message: `unknown key${suggestion(key, known)}`,
        }));
      }
      case 'invalid_union':
        if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
          const options = issue.options.map(String).join(', ');
          const missing = valueAt(tree, issue.path) === undefined;
          return [{ path, message: `${missing ? 'required' : 'must be'} one of: ${options}` }];
        }
        return [{ path, message: issue.message }];
      case 'invalid_key':
        return [{ path, message: issue.issues[0]?.message ?? issue.message }];
      default:
        return [{ path, message: issue.message }];
    }
  });
}

function valueAt(tree: unknown, path: ConfigPath): unknown {
  let node = tree;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

// NOTE: reads zod 4's `_zod.def`, the introspection surface zod documents for library
// authors. If it ever changes shape, suggestions vanish; the problems themselves remain.
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaNode>;
      innerType?: SchemaNode;
      in?: SchemaNode;
      out?: SchemaNode;
      element?: SchemaNode;
      valueType?: SchemaNode;
      options?: SchemaNode[];
      discriminator?: string;
    };
  };
}

/** The keys the object schema at `path` accepts; for a union, the member `tree` selects. */
function knownKeys(schema: z.ZodType, path: ConfigPath, tree: unknown): string[] {
  let node: SchemaNode | undefined = schema;
  let depth = 0;
  while (node !== undefined) {
    const def: SchemaNode['_zod']['def'] = node._zod.def;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe') node = def.in?._zod.def.type === 'transform' ? def.out : def.in;
    else if (def.type === 'union') node = unionMember(def, valueAt(tree, path.slice(0, depth)));
    else if (depth === path.length) return def.shape ? Object.keys(def.shape) : [];
    else {
      const key = path[depth++];
      node = def.shape?.[String(key)] ?? def.element ?? def.valueType;
    }
  }
  return [];
}

function unionMember(def: SchemaNode['_zod']['def'], value: unknown): SchemaNode | undefined {
  const wanted = valueAt(value, [def.discriminator ?? 'type']);
  return def.options?.find((option) => {
    const literal = option._zod.def.shape?.[def.discriminator ?? 'type'];
    return (literal?._zod.def as { values?: unknown[] } | undefined)?.values?.includes(wanted);
  });
}

function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Edit distance counting a swap of neighbours as one edit ("prot" -> "port"). */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, at(i - 2, j - 2) + 1);
      }
      (rows[i] ?? [])[j] = d;
    }
  }
  return at(a.length, b.length);
}
