/**
 * The `input` of a Responses request: a string, or items (messages, function calls and their
 * outputs, reasoning), each checked by its `type` with the offending field named as OpenAI
 * names it (`input[3].content[0].type`). Item and part types this module does not know pass
 * with their `type` checked only (see the NOTE in types.ts).
 */
import { z } from 'zod';
import { isRecord } from '../../json.js';
import { ResponsesRequestError } from './errors.js';
import { check, paramOf, supported } from './issues.js';
import type { ContentPart, InputItem, MessageRole } from './types.js';

type Path = readonly (string | number)[];

const MAX_TEXT = 4 * 1024 * 1024;
/** Text the proxy reads (counts, condenses): bounded. */
export const text = z.string().max(MAX_TEXT);
const id = z.string().min(1).max(512);
const status = z.enum(['in_progress', 'completed', 'incomplete']).optional();

const PARTS = {
  input_text: z.looseObject({ text }),
  input_image: z.looseObject({
    image_url: text.nullish(),
    file_id: id.nullish(),
    detail: z.enum(['auto', 'low', 'high', 'original']).optional(),
  }),
  // Base64 payloads are not text the proxy reads: only the body limit bounds them.
  input_file: z.looseObject({
    file_data: z.string().optional(),
    file_id: id.nullish(),
    file_url: text.optional(),
    filename: z.string().max(1_024).optional(),
  }),
  output_text: z.looseObject({ text, annotations: z.array(z.unknown()).optional() }),
  refusal: z.looseObject({ refusal: text }),
} as const;

type KnownPart = keyof typeof PARTS;

const INPUT_PARTS: readonly KnownPart[] = ['input_text', 'input_image', 'input_file'];
const ASSISTANT_PARTS: readonly KnownPart[] = ['output_text', 'refusal'];

/** Each media part names its source one way or another; none at all is a mistake. */
const SOURCES: Partial<Record<KnownPart, readonly string[]>> = {
  input_image: ['image_url', 'file_id'],
  input_file: ['file_data', 'file_id', 'file_url'],
};

const tagged = z.looseObject({ type: z.string().min(1).max(256) });

function isKnownPart(type: string): type is KnownPart {
  return Object.hasOwn(PARTS, type);
}

/** One content part, allowed in this place (`allowed`) or of a type not known here. */
function parsePart(part: unknown, allowed: readonly KnownPart[], root: unknown, at: Path) {
  const { type } = check(tagged, part, root, at);
  if (!isKnownPart(type)) return part as ContentPart;
  if (!allowed.includes(type)) {
    throw new ResponsesRequestError(
      `Invalid value: '${type}'. Supported values are: ${supported(allowed)}.`,
      paramOf([...at, 'type']),
      'invalid_value',
    );
  }
  const value: Record<string, unknown> = check(PARTS[type], part, root, at);
  const sources = SOURCES[type];
  if (sources !== undefined && !sources.some((key) => value[key] != null)) {
    throw new ResponsesRequestError(
      `Invalid '${paramOf(at)}': an ${type} part needs one of ${supported(sources)}.`,
      paramOf(at),
      'missing_required_parameter',
    );
  }
  return value as unknown as ContentPart;
}

function parseParts(
  content: unknown,
  allowed: readonly KnownPart[],
  root: unknown,
  at: Path,
): string | ContentPart[] {
  const value = check(z.union([text, z.array(z.unknown()).max(10_000)]), content, root, at);
  if (typeof value === 'string') return value;
  return value.map((part, j) => parsePart(part, allowed, root, [...at, j]));
}

const message = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.unknown(),
  id: id.optional(),
  status,
});

const functionCall = z.looseObject({
  type: z.literal('function_call'),
  call_id: id,
  name: z.string().min(1).max(256),
  arguments: text,
  id: id.optional(),
  status,
});

const functionCallOutput = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: id,
  output: z.unknown(),
  id: id.optional(),
  status: status.nullable(),
});

const reasoning = z.looseObject({
  type: z.literal('reasoning'),
  id: id.optional(),
  summary: z.array(z.looseObject({ type: z.literal('summary_text'), text })).max(1_000),
  encrypted_content: z.string().nullish(),
  status,
});

function parseItem(item: unknown, root: unknown, at: Path): InputItem {
  if (!isRecord(item)) check(z.looseObject({}), item, root, at);
  const { type } = item as Record<string, unknown>;
  if (type === undefined || type === 'message') {
    const value = check(message, item, root, at);
    const role: MessageRole = value.role;
    const allowed = role === 'assistant' ? ASSISTANT_PARTS : INPUT_PARTS;
    const content = parseParts(value.content, allowed, root, [...at, 'content']);
    return { ...value, content } as InputItem;
  }
  const { type: known } = check(tagged, item, root, at);
  switch (known) {
    case 'function_call':
      return check(functionCall, item, root, at);
    case 'function_call_output': {
      const value = check(functionCallOutput, item, root, at);
      const output = parseParts(value.output, INPUT_PARTS, root, [...at, 'output']);
      return { ...value, output };
    }
    case 'reasoning':
      return check(reasoning, item, root, at);
    default:
      return item as InputItem;
  }
}

/** The request's `input`: a string, or its items checked one by one. */
export function parseInput(input: unknown, root: unknown): string | InputItem[] {
  const value = check(z.union([text, z.array(z.unknown()).max(100_000)]), input, root, ['input']);
  if (typeof value === 'string') return value;
  return value.map((item, i) => parseItem(item, root, ['input', i]));
}
