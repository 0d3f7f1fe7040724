/**
 * OpenAI's Responses API for the fake: POST /v1/responses, JSON or the typed SSE events
 * (response.created ... response.completed, each with its sequence_number), and the 400s the
 * real API gives for a missing model or input, an unknown tool type or a bad text.format,
 * with their `param` and `code`. Written straight from the API's reference and captured
 * answers, not from the proxy's own translation, so tests of that translation can trust it.
 *
 * Like the chat route: the answer echoes the last user text (of this request: the fake keeps
 * no conversations, see unknownPrevious), as the smallest schema-valid JSON value under a
 * json_schema text.format; a function tool is called as tool-choice.ts decides for chat
 * (when tool_choice requires one, or under `auto` when the user asks for a tool and the last
 * item is not a function_call_output, so an agent's call-result-answer loop ends).
 */
import {
  namedFrame,
  type Answer,
  type AnswerContext,
  type RouteRequest,
  type SseFrame,
} from './api.js';
import {
  TOOL_ARGUMENT_PIECES,
  TOOL_ARGUMENTS,
  answerText,
  splitInto,
  textOf,
  wordCount,
} from './content.js';
import { isRecord } from '../json.js';
import { SchemaValueError, minimalValue, strictSchemaProblem } from './schema-value.js';
import { toolToCall, type ToolChoice } from './tool-choice.js';

/** Every tool type the real API takes (dated variants of the hosted ones included). */
const TOOL_TYPES = [
  'function',
  'file_search',
  'computer',
  'computer_use_preview',
  'web_search',
  'web_search_preview',
  'mcp',
  'code_interpreter',
  'image_generation',
  'local_shell',
  'shell',
  'custom',
  'apply_patch',
];
const DATED_TOOL = /^(web_search(_preview)?|computer_use_preview)_\d{4}_\d{2}_\d{2}$/;
const FORMATS = ['text', 'json_object', 'json_schema'];

function reject(message: string, param: string | null, code: string | null): Answer {
  return { kind: 'reject', status: 400, message, param, code };
}

const missing = (param: string): Answer =>
  reject(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** 'a', 'b', and 'c', as the API lists supported values. */
function listed(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`;
}

const invalidValue = (value: string, supported: readonly string[], param: string): Answer =>
  reject(
    `Invalid value: '${value}'. Supported values are: ${listed(supported)}.`,
    param,
    'invalid_value',
  );

/**
 * The fake keeps no conversations, but its response ids say who issued them: it takes a
 * `previous_response_id` it issued earlier (its name, a lower request number) and refuses
 * any other as the real API refuses an id it does not hold, so a proxy that sends a turn to
 * another upstream than the one that served the last turn is caught unless it expands.
 */
function unknownPrevious(previous: unknown, ctx: AnswerContext): Answer | undefined {
  if (previous === undefined || previous === null) return undefined;
  if (typeof previous !== 'string') {
    return reject(
      `Invalid type for 'previous_response_id': expected a string, but got ${typeof previous} instead.`,
      'previous_response_id',
      'invalid_type',
    );
  }
  const issued = /^resp_(.+)_(\d+)$/.exec(previous);
  if (issued?.[1] === ctx.name && Number(issued[2]) < ctx.id) return undefined;
  return reject(
    `Previous response with id '${previous}' not found.`,
    'previous_response_id',
    'previous_response_not_found',
  );
}

/** The real API's refusal of this body, if it would refuse it. */
function problemOf(body: Record<string, unknown>, ctx: AnswerContext): Answer | undefined {
  if (typeof body['model'] !== 'string') return missing('model');
  const input = body['input'];
  if (input === undefined) return missing('input');
  if (typeof input !== 'string' && !Array.isArray(input)) {
    return reject(
      `Invalid type for 'input': expected one of a string or array of input items, but got ${typeof input} instead.`,
      'input',
      'invalid_type',
    );
  }
  const tools = Array.isArray(body['tools']) ? (body['tools'] as unknown[]) : [];
  for (const [i, tool] of tools.entries()) {
    const raw = isRecord(tool) ? tool['type'] : undefined;
    if (raw === undefined) return missing(`tools[${i}].type`);
    const type = typeof raw === 'string' ? raw : JSON.stringify(raw);
    if (!TOOL_TYPES.includes(type) && !DATED_TOOL.test(type)) {
      return invalidValue(type, TOOL_TYPES, `tools[${i}].type`);
    }
    if (type === 'function' && typeof (tool as Record<string, unknown>)['name'] !== 'string') {
      return missing(`tools[${i}].name`);
    }
  }
  const text = body['text'];
  const format = isRecord(text) ? text['format'] : undefined;
  if (!isRecord(format)) return unknownPrevious(body['previous_response_id'], ctx);
  const type = format['type'];
  if (typeof type !== 'string') return missing('text.format.type');
  if (!FORMATS.includes(type)) return invalidValue(type, FORMATS, 'text.format.type');
  if (format['type'] === 'json_schema') {
    if (typeof format['name'] !== 'string') return missing('text.format.name');
    if (!isRecord(format['schema'])) return missing('text.format.schema');
  }
  return unknownPrevious(body['previous_response_id'], ctx);
}

type Item = Record<string, unknown>;

function itemsOf(input: unknown): Item[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return (input as unknown[]).filter(isRecord);
}

function itemText(item: Item): string {
  if (item['type'] === 'function_call_output') return textOf(item['output']);
  return textOf(item['content']);
}

function lastUserText(items: readonly Item[]): string {
  const lastUser = items.findLast((item) => item['role'] === 'user');
  return lastUser === undefined ? '' : itemText(lastUser);
}

/** The function tool to call this turn, if any (tool-choice.ts, as for chat). */
function toolOf(body: Record<string, unknown>, items: readonly Item[]): string | undefined {
  const tools = (Array.isArray(body['tools']) ? body['tools'].filter(isRecord) : [])
    .filter((tool) => tool['type'] === 'function' && typeof tool['name'] === 'string')
    .map((tool) => tool['name'] as string);
  const raw = body['tool_choice'];
  const choice: ToolChoice =
    raw === 'none' || raw === 'required'
      ? { kind: raw }
      : isRecord(raw) && raw['type'] === 'function' && typeof raw['name'] === 'string'
        ? { kind: 'named', name: raw['name'] }
        : { kind: 'auto' };
  const afterToolResult = items.at(-1)?.['type'] === 'function_call_output';
  return toolToCall({ choice, tools, afterToolResult, userText: lastUserText(items) });
}

/**
 * The answer text: the echo; as JSON for `json_object`; for `json_schema` the smallest value
 * the schema accepts (schema-value.ts), or the real API's refusal of a schema strict mode
 * does not allow.
 */
function answerOf(body: Record<string, unknown>, items: readonly Item[]): string | Answer {
  const echo = answerText(lastUserText(items));
  const format = isRecord(body['text']) ? body['text']['format'] : undefined;
  if (!isRecord(format) || format['type'] === 'text') return echo;
  if (format['type'] === 'json_object') return JSON.stringify({ answer: echo });
  const name = format['name'] as string;
  const schema = format['schema'];
  if (format['strict'] === true) {
    const problem = strictSchemaProblem(name, schema);
    if (problem !== undefined) return reject(problem, 'text.format.schema', null);
  }
  try {
    return JSON.stringify(minimalValue(schema));
  } catch (err) {
    if (!(err instanceof SchemaValueError)) throw err;
    return reject(
      `Invalid schema for text.format '${name}': ${err.message}`,
      'text.format.schema',
      null,
    );
  }
}

/** What the fake answers, in either shape. */
interface Turn {
  readonly shell: Record<string, unknown>;
  readonly ids: { msg: string; fc: string; call: string };
  readonly tool: string | undefined;
  readonly text: string;
  readonly usage: Record<string, unknown>;
}

function responses({ body }: RouteRequest, ctx: AnswerContext): Answer {
  if (!isRecord(body)) return reject('The request body must be a JSON object.', null, null);
  const problem = problemOf(body, ctx);
  if (problem !== undefined) return problem;
  const items = itemsOf(body['input']);
  const tool = toolOf(body, items);
  const text = answerOf(body, items);
  if (typeof text !== 'string') return text;
  const inputTokens = wordCount([textOf(body['instructions']), ...items.map(itemText)].join(' '));
  const outputTokens = wordCount(tool === undefined ? text : TOOL_ARGUMENTS);
  const turn: Turn = {
    shell: shellOf(body, ctx),
    ids: { msg: `msg_${ctx.name}_${ctx.id}`, fc: `fc_${ctx.name}_${ctx.id}`, call: 'call_1' },
    tool,
    text,
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + outputTokens,
    },
  };
  if (body['stream'] !== true) {
    return { kind: 'json', body: completed(turn, [outputItem(turn, 'completed')], ctx.now) };
  }
  return { kind: 'stream', frames: frames(turn, ctx) };
}

/** The response as the API starts it: in progress, no output, the request echoed. */
function shellOf(body: Record<string, unknown>, ctx: AnswerContext): Record<string, unknown> {
  const text = isRecord(body['text']) ? body['text'] : {};
  return {
    id: `resp_${ctx.name}_${ctx.id}`,
    object: 'response',
    created_at: ctx.now,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: body['instructions'] ?? null,
    max_output_tokens: body['max_output_tokens'] ?? null,
    max_tool_calls: null,
    model: body['model'],
    output: [],
    parallel_tool_calls: body['parallel_tool_calls'] ?? true,
    previous_response_id: body['previous_response_id'] ?? null,
    reasoning: { effort: null, summary: null },
    store: body['store'] ?? true,
    temperature: body['temperature'] ?? 1,
    text: { format: text['format'] ?? { type: 'text' }, verbosity: text['verbosity'] ?? 'medium' },
    tool_choice: body['tool_choice'] ?? 'auto',
    tools: body['tools'] ?? [],
    top_logprobs: 0,
    top_p: body['top_p'] ?? 1,
    truncation: body['truncation'] ?? 'disabled',
    usage: null,
    user: body['user'] ?? null,
    metadata: body['metadata'] ?? {},
  };
}

function completed(turn: Turn, output: unknown[], now: number): Record<string, unknown> {
  return { ...turn.shell, status: 'completed', completed_at: now, output, usage: turn.usage };
}

const textPart = (text: string) => ({ type: 'output_text', annotations: [], logprobs: [], text });

/** The turn's one output item: the message, or the function call. */
function outputItem({ ids, tool, text }: Turn, status: string): Record<string, unknown> {
  if (tool === undefined) {
    const content = status === 'in_progress' ? [] : [textPart(text)];
    return { id: ids.msg, type: 'message', status, content, role: 'assistant' };
  }
  const args = status === 'in_progress' ? '' : TOOL_ARGUMENTS;
  return {
    id: ids.fc,
    type: 'function_call',
    status,
    arguments: args,
    call_id: ids.call,
    name: tool,
  };
}

/** The real API's event sequence, the text in `streamChunks` deltas (or the arguments). */
function frames(turn: Turn, ctx: AnswerContext): SseFrame[] {
  let sequence = 0;
  const event = (type: string, fields: object, content = false): SseFrame =>
    namedFrame(type, { type, ...fields, sequence_number: sequence++ }, content);
  const at = { item_id: turn.tool === undefined ? turn.ids.msg : turn.ids.fc, output_index: 0 };
  const out: SseFrame[] = [
    event('response.created', { response: turn.shell }),
    event('response.in_progress', { response: turn.shell }),
    event('response.output_item.added', { item: outputItem(turn, 'in_progress'), output_index: 0 }),
  ];
  if (turn.tool === undefined) {
    const part = { ...at, content_index: 0 };
    out.push(event('response.content_part.added', { ...part, part: textPart('') }));
    for (const delta of splitInto(turn.text, ctx.streamChunks)) {
      out.push(event('response.output_text.delta', { ...part, delta, logprobs: [] }, true));
    }
    out.push(event('response.output_text.done', { ...part, text: turn.text, logprobs: [] }));
    out.push(event('response.content_part.done', { ...part, part: textPart(turn.text) }));
  } else {
    for (const delta of TOOL_ARGUMENT_PIECES) {
      out.push(event('response.function_call_arguments.delta', { ...at, delta }, true));
    }
    const done = { ...at, name: turn.tool, arguments: TOOL_ARGUMENTS };
    out.push(event('response.function_call_arguments.done', done));
  }
  const item = outputItem(turn, 'completed');
  out.push(event('response.output_item.done', { item, output_index: 0 }));
  out.push(event('response.completed', { response: completed(turn, [item], ctx.now) }));
  return out;
}

export { responses };
