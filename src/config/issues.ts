/**
 * Turns zod issues into config problems a person can act on: one problem per unknown key
 * (with a "did you mean" when a known key is close), "required" for missing values, and
 * the list of provider types when `type` is wrong. Messages never include input values,
 * which may be secrets.
 */
import { z } from 'zod';
import { isRecord } from '../json.js';
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
          // zod stops at the discriminator; the fields every member shares are checked here.
          const shared = sharedFieldIssues(schema, issue.path.slice(0, -1), tree);
          return [
            { path, message: `${missing ? 'required' : 'must be'} one of: ${options}` },
            ...problemsFromIssues(shared, schema, tree),
          ];
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

/**
 * When a discriminated union's discriminator matches no member (`type: opneai`), zod reports
 * only that. These are the issues of the object at `objectPath` against the fields every
 * member shares (the same schema in each), plus the keys no member accepts. Keys that some
 * member accepts are left alone: without a valid discriminator they cannot be judged.
 */
function sharedFieldIssues(
  schema: z.ZodType,
  objectPath: ConfigPath,
  tree: unknown,
): z.core.$ZodIssue[] {
  const value = valueAt(tree, objectPath);
  const def = nodeAt(schema, objectPath, tree)?._zod.def;
  if (!isRecord(value) || def?.type !== 'union' || !def.options) return [];
  const shapes = def.options.map((option) => unwrap(option)._zod.def.shape);
  const [first, ...rest] = shapes;
  if (first === undefined || rest.some((shape) => shape === undefined)) return [];
  const shared = Object.entries(first).filter(
    ([key, field]) => key !== def.discriminator && rest.every((shape) => shape?.[key] === field),
  );
  const result = z
    .object(Object.fromEntries(shared) as unknown as Record<string, z.ZodType>)
    .safeParse(value, { error: errorMap });
  const issues: z.core.$ZodIssue[] = result.success ? [] : [...result.error.issues];
  const known = new Set(shapes.flatMap((shape) => Object.keys(shape ?? {})));
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    issues.push({ code: 'unrecognized_keys', keys: unknown, path: [], message: 'unknown key' });
  }
  return issues.map((issue) => ({ ...issue, path: [...objectPath, ...issue.path] }));
}

/** The keys the object schema at `path` accepts; for a union, the member `tree` selects. */
function knownKeys(schema: z.ZodType, path: ConfigPath, tree: unknown): string[] {
  const def = nodeAt(schema, path, tree)?._zod.def;
  if (def?.type === 'union') {
    // No member selected (the discriminator is wrong): a key any member accepts is known.
    const keys = (def.options ?? []).flatMap((o) => Object.keys(unwrap(o)._zod.def.shape ?? {}));
    return [...new Set(keys)];
  }
  return def?.shape ? Object.keys(def.shape) : [];
}

/**
 * The schema at `path`, unwrapped; a union resolves to the member `tree` selects. A union
 * whose discriminator selects none is returned itself at the end of the path, and is
 * otherwise passed through the first member that has the next key.
 */
function nodeAt(schema: z.ZodType, path: ConfigPath, tree: unknown): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  let depth = 0;
  while (node !== undefined) {
    node = unwrap(node);
    const def: SchemaNode['_zod']['def'] = node._zod.def;
    if (def.type === 'union') {
      const member = unionMember(def, valueAt(tree, path.slice(0, depth)));
      if (member !== undefined) node = member;
      else if (depth === path.length) return node;
      else node = def.options?.find((o) => unwrap(o)._zod.def.shape?.[String(path[depth])]);
    } else if (depth === path.length) return node;
    else {
      const key = path[depth++];
      node = def.shape?.[String(key)] ?? def.element ?? def.valueType;
    }
  }
  return undefined;
}

/** Through defaults, optionals and pipes to the schema that holds the shape. */
function unwrap(node: SchemaNode): SchemaNode {
  for (;;) {
    const def: SchemaNode['_zod']['def'] = node._zod.def;
    const inner =
      def.innerType ??
      (def.type === 'pipe'
        ? def.in?._zod.def.type === 'transform'
          ? def.out
          : def.in
        : undefined);
    if (inner === undefined) return node;
    node = inner;
  }
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
