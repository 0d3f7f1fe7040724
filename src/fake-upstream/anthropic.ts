/**
 * The Anthropic Messages wire format: POST /v1/messages (JSON, or SSE with the real event
 * names), POST /v1/messages/count_tokens and GET /v1/models. Requests are told apart from
 * OpenAI ones by the `anthropic-version` header, which the real API requires on every call.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  header,
  namedFrame,
  type Answer,
  type AnswerContext,
  type RouteRequest,
  type SseFrame,
  type WireApi,
} from './api.js';
import {
  TOOL_ARGUMENT_PIECES,
  TOOL_ARGUMENTS,
  allText,
  answerText,
  lastUserText,
  splitInto,
  textOf,
  wordCount,
} from './content.js';
import { isRecord } from '../json.js';
import { anthropicRequestProblem } from './anthropic-rules.js';
import { anthropicToolDecision } from './anthropic-tool-choice.js';

export const ANTHROPIC_VERSION_HEADER = 'anthropic-version';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

function errorBody(status: number, message: string): unknown {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message } };
}

function reject(message: string): Answer {
  return { kind: 'reject', status: 400, message };
}

/** What the fake answers a Messages call with, in either shape. */
interface Message {
  readonly id: string;
  readonly model: string;
  /** The tool called, when asked for (anthropic-tool-choice.ts); else `text` is the answer. */
  readonly tool: string | undefined;
  readonly text: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

function messages({ body, headers }: RouteRequest, ctx: AnswerContext): Answer {
  if (header(headers, ANTHROPIC_VERSION_HEADER) === undefined) {
    return reject('anthropic-version: header is required');
  }
  if (!isRecord(body)) return reject('The request body must be a JSON object.');
  const { model, messages: turns, max_tokens: maxTokens } = body;
  if (typeof model !== 'string') return reject('model: Field required');
  if (!Array.isArray(turns)) return reject('messages: Field required');
  if (typeof maxTokens !== 'number') return reject('max_tokens: Field required');
  const problem = anthropicRequestProblem(body);
  if (problem !== undefined) return reject(problem);

  const decision = anthropicToolDecision(body, turns);
  if ('problem' in decision) return reject(decision.problem);
  const { tool } = decision;
  const text = answerText(lastUserText(turns));
  const message: Message = {
    id: `msg_${ctx.name}_${ctx.id}`,
    model,
    tool,
    text,
    inputTokens: wordCount(`${textOf(body['system'])} ${allText(turns)}`),
    outputTokens: wordCount(tool === undefined ? text : TOOL_ARGUMENTS),
  };
  if (body['stream'] !== true) return messageJson(message);
  return { kind: 'stream', frames: messageFrames(message, ctx.streamChunks) };
}

/**
 * POST /v1/messages/count_tokens: the words of the system prompt, the messages and the tool
 * definitions (the fake's token unit), as `{"input_tokens": N}`.
 */
function countTokens({ body, headers }: RouteRequest): Answer {
  if (header(headers, ANTHROPIC_VERSION_HEADER) === undefined) {
    return reject('anthropic-version: header is required');
  }
  if (!isRecord(body)) return reject('The request body must be a JSON object.');
  const { model, messages: turns, tools } = body;
  if (typeof model !== 'string') return reject('model: Field required');
  if (!Array.isArray(turns)) return reject('messages: Field required');
  const toolText = Array.isArray(tools) ? JSON.stringify(tools) : '';
  const text = `${textOf(body['system'])} ${allText(turns)} ${toolText}`;
  return { kind: 'json', body: { input_tokens: wordCount(text) } };
}

const stopReason = (tool: string | undefined): string =>
  tool === undefined ? 'end_turn' : 'tool_use';

function messageJson({ id, model, tool, text, inputTokens, outputTokens }: Message): Answer {
  const content =
    tool === undefined
      ? [{ type: 'text', text }]
      : [{ type: 'tool_use', id: 'toolu_1', name: tool, input: { q: 'x' } }];
  return {
    kind: 'json',
    body: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stopReason(tool),
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens },
    },
  };
}

/** The real API's event sequence, the text in `pieces` deltas (or the tool's arguments). */
function messageFrames(
  { id, model, tool, text, inputTokens, outputTokens }: Message,
  pieces: number,
): SseFrame[] {
  const block =
    tool === undefined
      ? { type: 'text', text: '' }
      : { type: 'tool_use', id: 'toolu_1', name: tool, input: {} };
  const deltas =
    tool === undefined
      ? splitInto(text, pieces).map((piece) => ({ type: 'text_delta', text: piece }))
      : TOOL_ARGUMENT_PIECES.map((piece) => ({ type: 'input_json_delta', partial_json: piece }));
  return [
    namedFrame('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    }),
    namedFrame('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: block,
    }),
    namedFrame('ping', { type: 'ping' }),
    ...deltas.map((delta) =>
      namedFrame('content_block_delta', { type: 'content_block_delta', index: 0, delta }, true),
    ),
    namedFrame('content_block_stop', { type: 'content_block_stop', index: 0 }),
    namedFrame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason(tool), stop_sequence: null },
      usage: { output_tokens: outputTokens },
    }),
    MESSAGE_STOP,
  ];
}

const MESSAGE_STOP = namedFrame('message_stop', { type: 'message_stop' });

function models(_request: unknown, ctx: AnswerContext): Answer {
  const data = ctx.models.map((id) => ({
    type: 'model',
    id,
    display_name: id,
    created_at: '2024-01-01T00:00:00Z',
  }));
  return {
    kind: 'json',
    body: {
      data,
      has_more: false,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
    },
  };
}

export const anthropicApi: WireApi = {
  name: 'anthropic',
  route(method, path) {
    if (method === 'POST' && path === '/v1/messages') return messages;
    if (method === 'POST' && path === '/v1/messages/count_tokens') return countTokens;
    if (method === 'GET' && path === '/v1/models') return models;
    return undefined;
  },
  authorized(headers, apiKey) {
    return header(headers, 'x-api-key') === apiKey;
  },
  errorBody,
  invalidStream() {
    return [
      { text: 'event: message_start\ndata: {"type":"message_start","message":\n\n', content: true },
      { text: 'event: content_block_delta\ndata: this is not json\n\n', content: true },
      MESSAGE_STOP,
    ];
  },
};

/** Which wire format a request speaks: /v1/messages, or anything carrying anthropic-version. */
export function speaksAnthropic(path: string, headers: IncomingHttpHeaders): boolean {
  return path === '/v1/messages' || header(headers, ANTHROPIC_VERSION_HEADER) !== undefined;
}
