/**
 * What an OpenAI chat request asks of the fake's answer: a tool call (by `tool_choice` and
 * `tools`, see tool-choice.ts) or text, and the text's shape (`response_format`: JSON for
 * `json_object`, the smallest schema-valid value for `json_schema`). Refuses, as the real
 * API does, a tool choice without tools or naming an undeclared tool, `json_object` with no
 * "json" in the messages, and a `strict` schema that strict mode does not allow.
 */
import { allText, answerText, lastUserText } from './content.js';
import { SchemaValueError, minimalValue, strictSchemaProblem } from './schema-value.js';
import { toolToCall, type ToolChoice } from './tool-choice.js';
import { isRecord } from '../json.js';

/** Why the real API would refuse the request: its words and the field, answered as a 400. */
export interface Refusal {
  readonly problem: string;
  readonly param: string;
  readonly code: string | null;
}

const refused = (problem: string, param: string, code: string | null = null): Refusal => ({
  problem,
  param,
  code,
});

const missing = (param: string): Refusal =>
  refused(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** The answer a chat request gets: a call of `tool`, else `text`. */
export interface ChatPlan {
  readonly tool: string | undefined;
  readonly text: string;
}

/** The plan for a chat body whose `messages` is an array, or why the real API would refuse it. */
export function chatPlan(body: Record<string, unknown>, messages: unknown[]): ChatPlan | Refusal {
  const tools = functionTools(body['tools']);
  const choice = toolChoiceOf(body['tool_choice'], tools);
  if ('problem' in choice) return choice;
  const userText = lastUserText(messages);
  const last: unknown = messages.at(-1);
  const afterToolResult =
    isRecord(last) && (last['role'] === 'tool' || last['role'] === 'function');
  const tool = toolToCall({ choice, tools, afterToolResult, userText });
  const text = formattedText(body['response_format'], messages, userText);
  return typeof text === 'string' ? { tool, text } : text;
}

/** The names of the declared function tools, in order. */
function functionTools(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  const names: string[] = [];
  for (const tool of tools) {
    const fn = isRecord(tool) ? tool['function'] : undefined;
    if (isRecord(fn) && typeof fn['name'] === 'string') names.push(fn['name']);
  }
  return names;
}

function toolChoiceOf(raw: unknown, tools: readonly string[]): ToolChoice | Refusal {
  const choice = parseToolChoice(raw);
  if ('problem' in choice || choice.kind === 'none' || choice.kind === 'auto') return choice;
  if (tools.length === 0) {
    return refused(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
    );
  }
  if (choice.kind === 'named' && !tools.includes(choice.name)) {
    return refused(
      `Invalid value for 'tool_choice': function '${choice.name}' is not one of the functions in 'tools'.`,
      'tool_choice',
    );
  }
  return choice;
}

function parseToolChoice(raw: unknown): ToolChoice | Refusal {
  if (raw === undefined || raw === null || raw === 'auto') return { kind: 'auto' };
  if (raw === 'none' || raw === 'required') return { kind: raw };
  if (isRecord(raw)) {
    const fn = raw['type'] === 'function' ? raw['function'] : undefined;
    if (isRecord(fn) && typeof fn['name'] === 'string') return { kind: 'named', name: fn['name'] };
    const allowed = raw['type'] === 'allowed_tools' ? raw['allowed_tools'] : undefined;
    const mode = isRecord(allowed) ? allowed['mode'] : undefined;
    if (mode === 'auto' || mode === 'required') return { kind: mode };
  }
  return refused(
    "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.",
    'tool_choice',
    'invalid_value',
  );
}

/** The answer's text in the `response_format` asked for, or why it is refused. */
function formattedText(
  format: unknown,
  messages: readonly unknown[],
  userText: string,
): string | Refusal {
  if (format === undefined || format === null) return answerText(userText);
  const type = isRecord(format) ? format['type'] : undefined;
  if (type === 'text') return answerText(userText);
  if (type === 'json_object') {
    if (!/json/i.test(allText(messages))) {
      return refused(
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
        'messages',
      );
    }
    return JSON.stringify({ answer: answerText(userText) });
  }
  if (type === 'json_schema')
    return schemaText(isRecord(format) ? format['json_schema'] : undefined);
  return refused(
    `Invalid value: '${String(type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`,
    'response_format.type',
    'invalid_value',
  );
}

function schemaText(spec: unknown): string | Refusal {
  if (!isRecord(spec)) return missing('response_format.json_schema');
  const name = spec['name'];
  if (typeof name !== 'string') {
    return missing('response_format.json_schema.name');
  }
  const schema = spec['schema'] ?? {};
  if (spec['strict'] === true) {
    const problem = strictSchemaProblem(name, schema);
    if (problem !== undefined) return refused(problem, 'response_format');
  }
  try {
    return JSON.stringify(minimalValue(schema));
  } catch (err) {
    if (!(err instanceof SchemaValueError)) throw err;
    return refused(
      `Invalid schema for response_format '${name}': ${err.message}`,
      'response_format',
    );
  }
}
