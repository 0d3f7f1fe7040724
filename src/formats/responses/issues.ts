/**
 * A zod issue as OpenAI words a 400 of the Responses API: the offending field as `param`
 * (`input[0].content[1].type`), the message and `code` in the API's own style
 * ("Missing required parameter: 'model'.", "Invalid value: 'x'. Supported values are: ...").
 */
import type { z } from 'zod';
import { isRecord } from '../../json.js';
import { ResponsesRequestError } from './errors.js';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** `['input', 0, 'content']` as OpenAI writes it: `input[0].content`. */
export function paramOf(path: Path): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (Array.isArray(value) && typeof key === 'number') value = value[key];
    else if (isRecord(value) && typeof key === 'string') value = value[key];
    else return undefined;
  }
  return value;
}

/** 'a', 'b', and 'c' */
export function supported(values: readonly unknown[]): string {
  const quoted = values.map((v) => `'${String(v)}'`);
  if (quoted.length <= 1) return quoted.join('');
  if (quoted.length === 2) return `${quoted[0]} and ${quoted[1]}`;
  return `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`;
}

/** 'an array', 'a string' */
const article = (noun: string): string => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

function describe(value: unknown): string {
  if (value === null) return 'null';
  return article(Array.isArray(value) ? 'array' : typeof value);
}

/** Which bound a too_big/too_small issue broke, in OpenAI's code vocabulary. */
function boundCode(issue: Extract<Issue, { code: 'too_big' | 'too_small' }>): string {
  const side = issue.code === 'too_big' ? 'above_max' : 'below_min';
  if (issue.origin === 'string') return `string_${side}_length`;
  if (issue.origin === 'array') return `array_${side}_length`;
  return `decimal_${side}_value`;
}

/** The request error for one zod issue, found at `prefix` + the issue's own path. */
export function requestError(
  issue: Issue,
  root: unknown,
  prefix: Path = [],
): ResponsesRequestError {
  const path = [...prefix, ...issue.path];
  const param = paramOf(path);
  const value = valueAt(root, path);
  if (value === undefined) {
    return new ResponsesRequestError(
      `Missing required parameter: '${param}'.`,
      param,
      'missing_required_parameter',
    );
  }
  switch (issue.code) {
    case 'invalid_value':
      return new ResponsesRequestError(
        `Invalid value: '${typeof value === 'string' ? value : JSON.stringify(value)}'. Supported values are: ${supported(issue.values)}.`,
        param,
        'invalid_value',
      );
    case 'invalid_type':
      return new ResponsesRequestError(
        `Invalid type for '${param}': expected ${article(issue.expected === 'int' ? 'integer' : issue.expected)}, but got ${describe(value)} instead.`,
        param,
        'invalid_type',
      );
    case 'invalid_union':
      return unionError(issue, root, path);
    case 'too_big':
    case 'too_small':
      return new ResponsesRequestError(
        `Invalid '${param}': ${issue.message.replace(/^Too (big|small): /, '')}.`,
        param,
        boundCode(issue),
      );
    default:
      return new ResponsesRequestError(
        `Invalid '${param}': ${issue.message}.`,
        param,
        'invalid_value',
      );
  }
}

/**
 * A union (a string or an array, ...) that no alternative took: the alternative whose type
 * matched and then failed a constraint (a string over the length limit) says what to fix;
 * if none matched, the message lists what was expected.
 */
function unionError(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  root: unknown,
  path: Path,
): ResponsesRequestError {
  const firsts = issue.errors.map((branch) => branch[0]).filter((i) => i !== undefined);
  const matched = firsts.find((i) => i.code !== 'invalid_type' || i.path.length > 0);
  if (matched !== undefined) return requestError(matched, root, path);
  const expected = firsts.map((i) => (i.code === 'invalid_type' ? `${i.expected}` : ''));
  const param = paramOf(path);
  return new ResponsesRequestError(
    `Invalid type for '${param}': expected ${expected.filter(Boolean).map(article).join(' or ')}, but got ${describe(valueAt(root, path))} instead.`,
    param,
    'invalid_type',
  );
}

/** `value` parsed by `schema`, or the first issue thrown as a ResponsesRequestError. */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root: unknown,
  at: Path,
): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw requestError(result.error.issues[0]!, root, at);
}
