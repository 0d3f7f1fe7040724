/**
 * Validation of an inbound Messages API request (POST /v1/messages) at the edge (zod): what
 * the proxy reads (to route, count, translate) is checked as Anthropic's reference describes
 * it; the first problem becomes a MessagesFormatError whose message starts with the field,
 * written as Anthropic writes it (`messages.0.content.1.source.data: Field required`).
 *
 * Unknown top-level fields, block types, source types and tool types are kept as they came:
 * a request passed through to an `anthropic` provider must not lose what a newer client
 * sends (Anthropic adds them often), and the translation to chat refuses what it cannot
 * carry with a 400 naming the field (to-chat.ts).
 */
import { z } from 'zod';
import { invalidRequest, type MessagesFormatError } from './errors.js';
import type { AnthropicMessagesRequest } from './types.js';

const MAX_TEXT = 4 * 1024 * 1024;
const text = z.string().max(MAX_TEXT);
const id = z.string().min(1).max(512);
const cacheControl = z
  .looseObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() })
  .nullish();

/**
 * A block of one of Anthropic's tagged unions (`{type: 'x', ...}`): a known type is checked
 * against its schema; another type passes as long as it names one (see the module comment).
 */
function tagged(known: Readonly<Record<string, z.ZodType>>) {
  return z.looseObject({ type: z.string().min(1).max(256) }).superRefine((value, ctx) => {
    const schema = Object.hasOwn(known, value.type) ? known[value.type] : undefined;
    // Its issues, paths relative to this value, become this value's.
    for (const issue of schema?.safeParse(value).error?.issues ?? []) ctx.addIssue({ ...issue });
  });
}

/** Anthropic's shorthand: a string, or an array of blocks. */
function stringOrArray(item: z.ZodType, max: number) {
  const array = z.array(item).max(max);
  return z.unknown().superRefine((value, ctx) => {
    if (typeof value === 'string') {
      if (value.length > MAX_TEXT) ctx.addIssue({ code: 'custom', message: 'String too long' });
      return;
    }
    if (!Array.isArray(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `Input should be a string or a list of content blocks, received ${kind(value)}`,
      });
      return;
    }
    for (const issue of array.safeParse(value).error?.issues ?? []) ctx.addIssue({ ...issue });
  });
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

const textBlock = z.looseObject({ type: z.literal('text'), text, cache_control: cacheControl });

const imageSource = tagged({
  base64: z.looseObject({
    media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
    data: z.string(),
  }),
  url: z.looseObject({ url: z.string().min(1).max(MAX_TEXT) }),
});
const imageBlock = z.looseObject({ source: imageSource, cache_control: cacheControl });

const documentSource = tagged({
  base64: z.looseObject({ media_type: z.literal('application/pdf'), data: z.string() }),
  text: z.looseObject({ media_type: z.literal('text/plain'), data: text }),
  url: z.looseObject({ url: z.string().min(1).max(MAX_TEXT) }),
  content: z.looseObject({
    content: stringOrArray(tagged({ text: textBlock, image: imageBlock }), 1_000),
  }),
});
const documentBlock = z.looseObject({
  source: documentSource,
  title: z.string().max(500).nullish(),
  context: text.nullish(),
  cache_control: cacheControl,
});

const toolResultContent = tagged({ text: textBlock, image: imageBlock, document: documentBlock });

const block = tagged({
  text: textBlock,
  image: imageBlock,
  document: documentBlock,
  tool_use: z.looseObject({
    id,
    name: z.string().min(1).max(256),
    input: z.record(z.string(), z.unknown()),
    cache_control: cacheControl,
  }),
  tool_result: z.looseObject({
    tool_use_id: id,
    content: stringOrArray(toolResultContent, 1_000).optional(),
    is_error: z.boolean().optional(),
    cache_control: cacheControl,
  }),
  thinking: z.looseObject({ thinking: text, signature: z.string() }),
  redacted_thinking: z.looseObject({ data: z.string() }),
});

/** Blocks a role may not carry: the model's own output in a user turn, and the reverse. */
const FORBIDDEN: Readonly<Record<'user' | 'assistant', ReadonlySet<string>>> = {
  user: new Set(['tool_use', 'thinking', 'redacted_thinking']),
  assistant: new Set(['tool_result']),
};

const message = z
  .looseObject({
    role: z.enum(['user', 'assistant']),
    content: stringOrArray(block, 10_000),
  })
  .superRefine((value, ctx) => {
    if (!Array.isArray(value.content)) return;
    value.content.forEach((b: { type?: unknown }, i) => {
      if (typeof b.type === 'string' && FORBIDDEN[value.role].has(b.type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['content', i, 'type'],
          message: `'${b.type}' blocks are not allowed in ${value.role} messages`,
        });
      }
    });
  });

const customTool = z.looseObject({
  name: z.string().min(1).max(256),
  description: z.string().max(MAX_TEXT).optional(),
  input_schema: z.looseObject({ type: z.literal('object') }),
  cache_control: cacheControl,
});

/** A client tool (`type` absent, null or `custom`) is checked; server tools pass. */
const tool = z.looseObject({ type: z.string().min(1).max(256).nullish() }).superRefine((v, ctx) => {
  if (v.type != null && v.type !== 'custom') return;
  for (const issue of customTool.safeParse(v).error?.issues ?? []) ctx.addIssue({ ...issue });
});

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
const toolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), ...parallel }),
  z.looseObject({ type: z.literal('any'), ...parallel }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1).max(256), ...parallel }),
  z.looseObject({ type: z.literal('none') }),
]);

const thinking = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(1024) }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('adaptive') }),
]);

const requestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1),
  messages: z.array(message).min(1).max(100_000),
  system: stringOrArray(textBlock, 1_000).optional(),
  stop_sequences: z.array(z.string().max(1_000)).max(1_000).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  tools: z.array(tool).max(1_000).optional(),
  tool_choice: toolChoice.optional(),
  thinking: thinking.optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullish() }).optional(),
  service_tier: z.enum(['auto', 'standard_only']).optional(),
});

/** A validated request: the fields the proxy reads, and every other field as it came. */
export type MessagesRequest = AnthropicMessagesRequest & Record<string, unknown>;

/** Validates a parsed JSON body; throws a MessagesFormatError (400) naming the first problem. */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  const r = requestSchema.safeParse(body);
  if (!r.success) throw fromIssue(r.error.issues[0]!);
  const request = r.data as unknown as MessagesRequest;
  const budget = request.thinking?.type === 'enabled' ? request.thinking.budget_tokens : undefined;
  if (budget !== undefined && budget >= request.max_tokens) {
    throw invalidRequest('max_tokens', 'must be greater than thinking.budget_tokens');
  }
  return request;
}

/**
 * A count_tokens request (POST /v1/messages/count_tokens): a Messages request without
 * `max_tokens`, which counting does not read.
 */
export type CountTokensRequest = Omit<AnthropicMessagesRequest, 'max_tokens'> & {
  max_tokens?: number;
} & Record<string, unknown>;

const countTokensSchema = requestSchema.extend({ max_tokens: z.number().int().min(1).optional() });

/** Validates a count_tokens body; throws a MessagesFormatError (400) naming the first problem. */
export function parseCountTokensRequest(body: unknown): CountTokensRequest {
  const r = countTokensSchema.safeParse(body);
  if (!r.success) throw fromIssue(r.error.issues[0]!);
  return r.data as unknown as CountTokensRequest;
}

function fromIssue(issue: z.core.$ZodIssue): MessagesFormatError {
  const path = issue.path.map(String).join('.');
  const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
  const message = missing ? 'Field required' : issue.message.replace(/^Invalid input: /, '');
  return invalidRequest(path === '' ? null : path, message);
}
