/**
 * Structured output for the fake: the smallest JSON value a JSON Schema accepts (types,
 * required properties, enums and consts, arrays with minItems, string and number bounds,
 * `$ref` into `$defs`/`definitions`, `anyOf`/`oneOf`), so a client that parses the answer
 * against its schema (the OpenAI SDK's `zodResponseFormat`) succeeds; and the checks the
 * real API applies to a `strict` schema before it answers, so a schema OpenAI would refuse
 * is refused here too rather than discovered in production.
 */
import { isRecord } from '../json.js';

type Schema = Record<string, unknown>;

/** Deeper than any schema a client sends by hand; a self-requiring `$ref` stops here. */
const MAX_DEPTH = 32;

/** Why a schema has no value this generator can build (a `$ref` it cannot follow, a loop). */
export class SchemaValueError extends Error {
  override readonly name = 'SchemaValueError';
}

/** The smallest value `schema` accepts; throws SchemaValueError when there is none to build. */
export function minimalValue(schema: unknown): unknown {
  return valueOf(schema, isRecord(schema) ? schema : {}, 0);
}

function valueOf(schema: unknown, root: Schema, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new SchemaValueError('schema nests too deep (a recursive $ref?)');
  if (schema === true || !isRecord(schema)) return {};
  if ('const' in schema) return schema['const'];
  const choices = schema['enum'];
  if (Array.isArray(choices) && choices.length > 0) return choices[0];
  if (typeof schema['$ref'] === 'string')
    return valueOf(resolve(schema['$ref'], root), root, depth + 1);
  const branches = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(branches) && branches.length > 0) {
    // A non-null branch, when there is one: `nullable` fields then carry a value.
    const chosen: unknown =
      branches.find((b) => !(isRecord(b) && b['type'] === 'null')) ?? branches[0];
    return valueOf(chosen, root, depth + 1);
  }
  const all = schema['allOf'];
  if (Array.isArray(all) && all.length > 0) {
    return valueOf(Object.assign({}, ...all.filter(isRecord)) as Schema, root, depth + 1);
  }
  return typedValue(schema, root, depth);
}

function typedValue(schema: Schema, root: Schema, depth: number): unknown {
  switch (typeOf(schema)) {
    case 'string':
      return stringValue(schema);
    case 'integer':
      return Math.ceil(numberFloor(schema));
    case 'number':
      return numberFloor(schema);
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] : [];
      return Array.from({ length: Math.max(count, prefix.length) }, (_, i) =>
        valueOf(i < prefix.length ? prefix[i] : schema['items'], root, depth + 1),
      );
    }
    default:
      return objectValue(schema, root, depth);
  }
}

/** The schema's type: the first non-null of a list; inferred from its keywords when absent. */
function typeOf(schema: Schema): string {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const named = type.filter((t): t is string => typeof t === 'string');
    return named.find((t) => t !== 'null') ?? named[0] ?? 'object';
  }
  if ('items' in schema || 'prefixItems' in schema) return 'array';
  return 'object';
}

function objectValue(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const properties = isRecord(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  const out: Record<string, unknown> = {};
  for (const name of required) {
    if (typeof name === 'string') out[name] = valueOf(properties[name], root, depth + 1);
  }
  return out;
}

/** A format's canonical example, else "fake" stretched or cut to the length bounds. */
function stringValue(schema: Schema): string {
  const example = FORMAT_EXAMPLES[String(schema['format'])];
  if (example !== undefined) return example;
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Infinity;
  return 'fake'.padEnd(min, 'x').slice(0, max);
}

const FORMAT_EXAMPLES: Record<string, string> = {
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00Z',
  email: 'fake@example.com',
  uri: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  hostname: 'example.com',
};

/** The least number the bounds allow: 0 when they allow it, else just above the minimum. */
function numberFloor(schema: Schema): number {
  const { minimum, exclusiveMinimum, maximum } = schema;
  if (typeof exclusiveMinimum === 'number') {
    const room = typeof maximum === 'number' ? (maximum - exclusiveMinimum) / 2 : 1;
    return exclusiveMinimum + Math.min(1, room);
  }
  if (typeof minimum === 'number') return minimum;
  if (typeof maximum === 'number' && maximum < 0) return maximum;
  return 0;
}

function resolve(ref: string, root: Schema): unknown {
  if (ref === '#') return root;
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const defs = match === null ? undefined : root[match[1]!];
  const target = isRecord(defs) ? defs[match![2]!] : undefined;
  if (target === undefined) throw new SchemaValueError(`cannot resolve $ref '${ref}'`);
  return target;
}

/**
 * Why OpenAI would refuse `schema` in strict mode, or undefined: every object must set
 * `additionalProperties: false` and list every property in `required` (its words, as
 * reported by its users). `name` is the response format's name, used in the message.
 */
export function strictSchemaProblem(name: string, schema: unknown): string | undefined {
  const found = strictProblemAt(schema, []);
  if (found === undefined) return undefined;
  const context = found.path.length === 0 ? '()' : `('${found.path.join("', '")}')`;
  return `Invalid schema for response_format '${name}': In context=${context}, ${found.problem}`;
}

interface StrictProblem {
  path: string[];
  problem: string;
}

function strictProblemAt(schema: unknown, path: string[]): StrictProblem | undefined {
  if (!isRecord(schema)) return undefined;
  const properties = isRecord(schema['properties']) ? schema['properties'] : undefined;
  if (typeOf(schema) === 'object' && properties !== undefined) {
    if (schema['additionalProperties'] !== false) {
      return {
        path,
        problem: "'additionalProperties' is required to be supplied and to be false.",
      };
    }
    const required = Array.isArray(schema['required']) ? schema['required'] : [];
    const missing = Object.keys(properties).filter((key) => !required.includes(key));
    if (missing.length > 0) {
      return {
        path,
        problem: `'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]!}'.`,
      };
    }
  }
  for (const [key, child] of childSchemas(schema)) {
    const found = strictProblemAt(child, [...path, ...key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The sub-schemas of `schema`, each with the path segments that lead to it. */
function childSchemas(schema: Schema): [string[], unknown][] {
  const out: [string[], unknown][] = [];
  for (const group of ['properties', '$defs', 'definitions']) {
    const members = schema[group];
    if (isRecord(members)) {
      for (const [name, child] of Object.entries(members)) out.push([[group, name], child]);
    }
  }
  if ('items' in schema) out.push([['items'], schema['items']]);
  for (const group of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
    const members = schema[group];
    if (Array.isArray(members))
      members.forEach((child, i) => out.push([[group, String(i)], child]));
  }
  return out;
}
