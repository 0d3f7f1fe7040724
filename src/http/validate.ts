/**
 * Request validation at the edge (zod): what the proxy needs to route and count a request is
 * checked strictly; parameters it merely forwards are type-checked and passed on, so new
 * OpenAI parameters keep working, and so do new types of content part, tool and tool call
 * (see `tagged`). The first problem becomes an OpenAI-shaped 400 naming the offending
 * parameter.
 */
import { z } from 'zod';
import type { ChatCompletionRequest, EmbeddingsRequest } from '../upstream/openai-types.js';
import { errors } from './errors.js';

const MAX_STRING = 4 * 1024 * 1024;
/** Text the proxy reads (counts tokens of, summarises): bounded. */
const text = z.string().max(MAX_STRING);
const name = z.string().min(1).max(256);

/**
 * One of OpenAI's tagged unions (content parts, tools, tool calls), which all follow one
 * convention: `{type: 'x', x: payload}`. A type in `known` is checked against its schema,
 * since the proxy reads it (a part's text, a call's name and arguments) or a translator
 * does. Any other type is passed on to the upstream untouched, as long as it follows the
 * convention.
 *
 * Why not refuse unknown types: OpenAI keeps adding them (input_audio, file, refusal parts,
 * custom tools all came after text, image_url and function), the SDK sends them the day
 * they ship, and a proxy that refused them would break clients that OpenAI serves. The
 * upstream knows what it serves, and a translator that cannot serve a type refuses it with
 * a 400 naming the param. Why still require the payload key: it is what catches the usual
 * mistakes (`{type: 'image', image_url}`, `{type: 'audio', data}`) with a helpful message.
 */
function tagged(what: string, known: Readonly<Record<string, z.ZodType>>) {
  const listed = Object.keys(known)
    .map((t) => `'${t}'`)
    .join(' | ');
  return z.looseObject({ type: z.string().min(1).max(256) }).superRefine((value, ctx) => {
    const schema = Object.hasOwn(known, value.type) ? known[value.type] : undefined;
    if (schema !== undefined) {
      // Its issues, paths relative to this value, become this value's.
      for (const issue of schema.safeParse(value).error?.issues ?? []) ctx.addIssue({ ...issue });
    } else if (!Object.hasOwn(value, value.type) || value[value.type] == null) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        input: value.type,
        message:
          `expected ${listed}, or another ${what} type with its payload in a field ` +
          `of that name (here '${value.type}')`,
      });
    }
  });
}

/**
 * Every part type in every role: which role may carry which part is the upstream's contract
 * (OpenAI has widened it before), not something the proxy needs; its consumers cope with
 * any part anywhere (see the NOTE in openai-types.ts).
 */
const part = tagged('content part', {
  text: z.looseObject({ text }),
  image_url: z.looseObject({
    image_url: z.looseObject({ url: text, detail: z.enum(['auto', 'low', 'high']).optional() }),
  }),
  // Base64 payloads are not text the proxy reads: only the body limit bounds them.
  input_audio: z.looseObject({
    input_audio: z.looseObject({ data: z.string(), format: z.string().max(64) }),
  }),
  file: z.looseObject({
    file: z.looseObject({
      file_data: z.string().optional(),
      file_id: z.string().max(512).optional(),
      filename: z.string().max(1_024).optional(),
    }),
  }),
  refusal: z.looseObject({ refusal: text }),
});
const content = z.union([text, z.array(part).max(1_000)]);

const toolCall = tagged('tool call', {
  function: z.looseObject({
    id: z.string().max(512),
    function: z.looseObject({ name, arguments: text }),
  }),
  custom: z.looseObject({ id: z.string().max(512), custom: z.looseObject({ name, input: text }) }),
});

const tool = tagged('tool', {
  function: z.looseObject({ function: z.looseObject({ name }) }),
  custom: z.looseObject({
    custom: z.looseObject({
      name,
      description: z.string().optional(),
      format: z.looseObject({ type: z.string() }).optional(),
    }),
  }),
});

/** Roles are checked strictly: the proxy must know what each message is to condense it. */
const message = z.discriminatedUnion('role', [
  z.looseObject({
    role: z.enum(['system', 'developer', 'user']),
    content,
    name: z.string().max(256).optional(),
  }),
  z.looseObject({
    role: z.literal('assistant'),
    content: content.nullish(),
    name: z.string().max(256).optional(),
    tool_calls: z.array(toolCall).max(128).optional(),
    function_call: z.looseObject({ name, arguments: text }).nullish(),
    refusal: text.nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string().max(512) }),
  // The legacy tool result, answering an assistant's `function_call`.
  z.looseObject({ role: z.literal('function'), content: text.nullish(), name }),
]);

const chatSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1).max(10_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  stop: z.union([z.string().max(1_000), z.array(z.string().max(1_000)).max(16)]).nullish(),
  // Any integer: OpenAI's seeds are 64-bit, past 2^53 (the body is forwarded unrounded).
  seed: z.number().refine(Number.isInteger, 'expected an integer').nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  tools: z.array(tool).max(512).nullish(),
  // The legacy form of `tools` (function_call, its tool_choice, is forwarded unchecked).
  functions: z.array(z.looseObject({ name })).max(128).nullish(),
  user: z.string().max(512).nullish(),
});

const embeddingsSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([
    text.min(1),
    z.array(text).min(1).max(4_096),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int())).min(1).max(4_096),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().max(512).nullish(),
});

/**
 * Legacy completions: what the proxy reads (model, prompt, stream); every other field goes to
 * the upstream unchanged (it is passed through, never translated).
 */
const completionsSchema = z.looseObject({
  model: z.string().min(1).max(256),
  prompt: z.union([
    text,
    z.array(text).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int())).min(1),
  ]),
  stream: z.boolean().nullish(),
  max_tokens: z.number().int().min(0).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
});

export interface CompletionsRequest {
  model: string;
  prompt: string | string[] | number[] | number[][];
  stream?: boolean | null;
  max_tokens?: number | null;
  temperature?: number | null;
  [field: string]: unknown;
}

export function parseCompletionsRequest(body: unknown): CompletionsRequest {
  const r = completionsSchema.safeParse(body);
  if (!r.success) fail(r.error);
  return r.data as CompletionsRequest;
}

/** Embeddings' optional fields that chat-style clients send as `null` to mean "not given". */
const EMBEDDINGS_NULLABLE = ['encoding_format', 'dimensions', 'user'] as const;

type Issue = z.core.$ZodIssue;

/** A mismatch of what a value is, as opposed to a constraint on a value of the right kind. */
const MISMATCH = new Set(['invalid_type', 'invalid_value', 'invalid_union']);

/**
 * How well a union alternative explains the input: one the input matched in every type,
 * failing only constraints (5000 strings where at most 4096 go), beats any type mismatch;
 * then the deeper failure; at equal depth, a wrong type beats a wrong literal (an object with
 * one bad field is about that field, not about a literal it does not equal).
 */
function rank(branch: readonly Issue[]): number {
  const first = branch[0]!;
  const matched = branch.every((i) => !MISMATCH.has(i.code));
  const kind = first.code === 'invalid_value' ? 0 : first.code === 'invalid_type' ? 1 : 2;
  return (matched ? 1_000 : 0) + first.path.length * 3 + kind;
}

/**
 * The issue to report for a failed union: the alternative that got furthest (deepest path;
 * at equal depth, one whose type matched but a constraint failed), so a message says what
 * to fix rather than zod's bare "Invalid input". Alternatives that all failed on the type
 * become "expected string or array, received number".
 */
function explain(issue: Issue): { path: PropertyKey[]; message: string } {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    return {
      path: issue.path,
      message: missing
        ? `this required parameter is missing (expected ${issue.expected})`
        : issue.message.replace(/^Invalid input: /, ''),
    };
  }
  const branches = issue.errors.filter((branch) => branch[0] !== undefined);
  const firsts = branches.map((branch) => branch[0]!);
  const bestBranch = branches.reduce((a, b) => (rank(b) > rank(a) ? b : a));
  const best = bestBranch[0]!;
  if (best.path.length === 0 && best.code === 'invalid_type') {
    const expected = [...new Set(firsts.map((i) => (i.code === 'invalid_type' ? i.expected : '')))];
    const received = /received (\w+)/.exec(best.message)?.[1];
    const wanted = expected.join(' or ');
    return {
      path: issue.path,
      message:
        received === 'undefined'
          ? `this required parameter is missing (expected ${wanted})`
          : `expected ${wanted}${received === undefined ? '' : `, received ${received}`}`,
    };
  }
  const inner = explain(best);
  return { path: [...issue.path, ...inner.path], message: inner.message };
}

function fail(error: z.ZodError): never {
  const { path, message } = explain(error.issues[0]!);
  const param = path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
  throw errors.badBody(
    param === '' ? `${message}.` : `Invalid '${param}': ${message}.`,
    param === '' ? null : param,
  );
}

export function parseChatRequest(body: unknown): ChatCompletionRequest {
  const r = chatSchema.safeParse(body);
  if (!r.success) fail(r.error);
  return r.data as unknown as ChatCompletionRequest;
}

export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  const r = embeddingsSchema.safeParse(body);
  if (!r.success) fail(r.error);
  // OpenAI's embeddings spec, unlike chat's, has no nullable fields: a `null` is dropped, so
  // a strict upstream sees the field absent (and the cache key is that of the absent field).
  const data: Record<string, unknown> = r.data;
  for (const key of EMBEDDINGS_NULLABLE) if (data[key] === null) delete data[key];
  return data as unknown as EmbeddingsRequest;
}
