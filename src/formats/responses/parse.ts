/**
 * Validates an inbound Responses request (POST /v1/responses) at the edge: what the proxy
 * reads or translates is checked strictly; what it merely forwards is type-checked and
 * passed on, so new OpenAI parameters keep working through a native upstream. The first
 * problem is thrown as a ResponsesRequestError naming the field as OpenAI's `param` does.
 */
import { z } from 'zod';
import { isRecord } from '../../json.js';
import { ResponsesRequestError } from './errors.js';
import { check, supported } from './issues.js';
import { parseInput, text } from './parse-items.js';
import type { ResponsesRequest, TextConfig, Tool, ToolChoice } from './types.js';

const name = z.string().min(1).max(256);

/** OpenAI's hosted tools: served only where the upstream natively speaks Responses. */
const BUILTIN_TOOL = /^(web_search|file_search|code_interpreter|computer)/;

/** True for a built-in tool type (web_search*, file_search, code_interpreter, computer*). */
export function isBuiltinTool(type: string): boolean {
  return BUILTIN_TOOL.test(type);
}

const scalars = z.looseObject({
  model: z.string().min(1).max(256),
  instructions: text.nullish(),
  // The API's own floor: fewer tokens than this cannot hold a useful answer.
  max_output_tokens: z.number().int().min(16).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  reasoning: z
    .looseObject({
      effort: z.string().max(64).nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  metadata: z
    .record(z.string(), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, 'at most 16 key-value pairs are allowed')
    .refine((m) => Object.keys(m).every((k) => k.length <= 64), 'keys are at most 64 characters')
    .nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  stream: z.boolean().nullish(),
  user: z.string().max(512).nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
});

const functionTool = z.looseObject({
  type: z.literal('function'),
  name,
  description: text.nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const tagged = z.looseObject({ type: z.string().min(1).max(256) });

function parseTools(tools: unknown, root: unknown): Tool[] | null | undefined {
  const list = check(z.array(z.unknown()).max(512).nullish(), tools, root, ['tools']);
  return list?.map((tool, i) => {
    const { type } = check(tagged, tool, root, ['tools', i]);
    return type === 'function' ? check(functionTool, tool, root, ['tools', i]) : (tool as Tool);
  });
}

const CHOICES = ['auto', 'none', 'required'] as const;

function parseToolChoice(choice: unknown, root: unknown): ToolChoice | null | undefined {
  if (choice == null) return choice;
  if (typeof choice === 'string') {
    return check(z.enum(CHOICES), choice, root, ['tool_choice']);
  }
  const { type } = check(tagged, choice, root, ['tool_choice']);
  if (type !== 'function') return choice as ToolChoice;
  return check(z.looseObject({ type: z.literal('function'), name }), choice, root, ['tool_choice']);
}

const FORMATS = {
  text: z.looseObject({ type: z.literal('text') }),
  json_object: z.looseObject({ type: z.literal('json_object') }),
  json_schema: z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    description: text.optional(),
    strict: z.boolean().nullish(),
  }),
} as const;

function parseText(config: unknown, root: unknown): TextConfig | null | undefined {
  const shape = z.looseObject({
    format: tagged.optional(),
    verbosity: z.enum(['low', 'medium', 'high']).nullish(),
  });
  const value = check(shape.nullish(), config, root, ['text']);
  if (value?.format === undefined) return value as TextConfig | null | undefined;
  const { type } = value.format;
  if (!Object.hasOwn(FORMATS, type)) {
    throw new ResponsesRequestError(
      `Invalid value: '${type}'. Supported values are: ${supported(Object.keys(FORMATS))}.`,
      'text.format.type',
      'invalid_value',
    );
  }
  const schema = FORMATS[type as keyof typeof FORMATS];
  return { ...value, format: check(schema, value.format, root, ['text', 'format']) } as TextConfig;
}

/** The request, validated; `store` defaults to true as the API's does. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (!isRecord(body)) {
    throw new ResponsesRequestError(
      'The request body must be a JSON object.',
      null,
      'invalid_type',
    );
  }
  const base = check(scalars, body, body, []);
  if (body['input'] === undefined) {
    throw new ResponsesRequestError(
      "Missing required parameter: 'input'. Send the user's text as a string or a list of " +
        'input items.',
      'input',
      'missing_required_parameter',
    );
  }
  const request: Record<string, unknown> = {
    ...base,
    input: parseInput(body['input'], body),
    store: base.store ?? true,
  };
  const tools = parseTools(body['tools'], body);
  const toolChoice = parseToolChoice(body['tool_choice'], body);
  const textConfig = parseText(body['text'], body);
  if (tools !== undefined) request['tools'] = tools;
  if (toolChoice !== undefined) request['tool_choice'] = toolChoice;
  if (textConfig !== undefined) request['text'] = textConfig;
  return request as unknown as ResponsesRequest;
}

/** The request's built-in tools by their `tools[i].type` param: what only a native upstream serves. */
export function builtinToolParams(request: ResponsesRequest): string[] {
  return (request.tools ?? []).flatMap((tool, i) =>
    isBuiltinTool(tool.type) ? [`tools[${i}].type`] : [],
  );
}
