/**
 * Request validation at the edge (zod): what the proxy needs to route and count a request is
 * checked strictly; parameters it merely forwards are type-checked and passed on, so new
 * OpenAI parameters keep working. The first problem becomes an OpenAI-shaped 400 naming the
 * offending parameter.
 */
import { z } from 'zod';
import type { ChatCompletionRequest, EmbeddingsRequest } from '../providers/openai-types.js';
import { errors } from './errors.js';

const MAX_STRING = 4 * 1024 * 1024;
const text = z.string().max(MAX_STRING);
const textPart = z.looseObject({ type: z.literal('text'), text });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: text, detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const parts = z.array(z.union([textPart, imagePart])).max(1_000);
const toolCall = z.looseObject({
  id: z.string().max(512),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1).max(256), arguments: text }),
});

const message = z.discriminatedUnion('role', [
  z.looseObject({
    role: z.enum(['system', 'developer']),
    content: z.union([text, z.array(textPart)]),
    name: z.string().max(256).optional(),
  }),
  z.looseObject({
    role: z.literal('user'),
    content: z.union([text, parts]),
    name: z.string().max(256).optional(),
  }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.union([text, z.array(textPart)]).nullish(),
    name: z.string().max(256).optional(),
    tool_calls: z.array(toolCall).max(128).optional(),
  }),
  z.looseObject({
    role: z.literal('tool'),
    content: z.union([text, z.array(textPart)]),
    tool_call_id: z.string().max(512),
  }),
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
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.literal('function'),
        function: z.looseObject({ name: z.string().min(1).max(256) }),
      }),
    )
    .max(512)
    .nullish(),
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
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().max(512).optional(),
});

type Issue = z.core.$ZodIssue;

/** A mismatch of what a value is, as opposed to a constraint on a value of the right kind. */
const MISMATCH = new Set(['invalid_type', 'invalid_value', 'invalid_union']);

/**
 * How well a union alternative explains the input: one the input matched in every type,
 * failing only constraints (5000 strings where at most 4096 go), beats any type mismatch;
 * then the deeper failure; at equal depth, a wrong type beats a wrong literal (an image part
 * with a bad `image_url` is about `image_url`, not about `type` not being "text").
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
  return r.data as unknown as EmbeddingsRequest;
}
