/**
 * The OpenAI wire format: GET /v1/models, POST /v1/chat/completions (JSON and SSE chunks
 * ending in `data: [DONE]`; `tool_choice` and `response_format` honoured, openai-request.ts),
 * POST /v1/embeddings (floats or base64, as the SDK asks; `dimensions` honoured). Shapes
 * follow the real API closely enough for the official `openai` SDK to parse them.
 */
import {
  dataFrame,
  header,
  type Answer,
  type AnswerContext,
  type ErrorDetail,
  type RouteRequest,
  type SseFrame,
  type WireApi,
} from './api.js';
import {
  TOOL_ARGUMENT_PIECES,
  TOOL_ARGUMENTS,
  EMBEDDING_DIMENSIONS,
  allText,
  embeddingOf,
  splitInto,
  wordCount,
} from './content.js';
import { chatPlan, type Refusal } from './openai-request.js';
import { isRecord } from '../json.js';
import { responses } from './responses.js';

const ERROR_KINDS: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { type: 'invalid_request_error', code: 'unknown_url' },
  413: { type: 'invalid_request_error', code: 'request_too_large' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

function errorBody(status: number, message: string, detail: ErrorDetail = {}): unknown {
  const kind = ERROR_KINDS[status] ?? {
    type: status >= 500 ? 'server_error' : 'error',
    code: null,
  };
  const { param = null, code = kind.code } = detail;
  return { error: { message, type: kind.type, param, code } };
}

function reject(message: string): Answer {
  return { kind: 'reject', status: 400, message };
}

/** A 400 with the real API's words, naming the field at fault. */
function refusal({ problem, param, code }: Refusal): Answer {
  return { kind: 'reject', status: 400, message: problem, param, code };
}

/** What the fake answers a chat call with, in either shape. */
interface Completion {
  readonly base: { id: string; created: number; model: string; system_fingerprint: string };
  /** The tool called, when the request asked for one (tool-choice.ts); else `text` is the answer. */
  readonly tool: string | undefined;
  readonly text: string;
  readonly usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const TOOL_CALL = { id: 'call_1', type: 'function' as const };

function chat({ body }: RouteRequest, ctx: AnswerContext): Answer {
  if (!isRecord(body)) return reject('The request body must be a JSON object.');
  const { model, messages } = body;
  if (typeof model !== 'string') return reject("you must provide a model parameter ('model')");
  if (!Array.isArray(messages)) return reject("'messages' must be an array of messages");

  const plan = chatPlan(body, messages);
  if ('problem' in plan) return refusal(plan);
  const { tool, text } = plan;
  const promptTokens = wordCount(allText(messages));
  const completionTokens = wordCount(tool === undefined ? text : TOOL_ARGUMENTS);
  const completion: Completion = {
    base: {
      id: `chatcmpl-${ctx.name}-${ctx.id}`,
      created: ctx.now,
      model,
      system_fingerprint: `fp_${ctx.name}`,
    },
    tool,
    text,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
  if (body['stream'] !== true) return chatJson(completion);
  const streamOptions = body['stream_options'];
  const includeUsage = isRecord(streamOptions) && streamOptions['include_usage'] === true;
  return { kind: 'stream', frames: chatFrames(completion, includeUsage, ctx.streamChunks) };
}

function chatJson({ base, tool, text, usage }: Completion): Answer {
  const message =
    tool === undefined
      ? { role: 'assistant', content: text, refusal: null }
      : {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ ...TOOL_CALL, function: { name: tool, arguments: TOOL_ARGUMENTS } }],
        };
  const finish = tool === undefined ? 'stop' : 'tool_calls';
  return {
    kind: 'json',
    body: {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage,
    },
  };
}

/** The answer as chunks: the text in `pieces` pieces (or the tool's arguments), then [DONE]. */
function chatFrames(
  { base, tool, text, usage }: Completion,
  includeUsage: boolean,
  pieces: number,
): SseFrame[] {
  // With include_usage the real API puts `usage: null` on every chunk but the last.
  const chunk = (delta: unknown, finish: string | null, content = false): SseFrame =>
    dataFrame(
      {
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      },
      content,
    );

  const frames: SseFrame[] = [];
  if (tool === undefined) {
    frames.push(chunk({ role: 'assistant', content: '' }, null));
    for (const piece of splitInto(text, pieces)) {
      frames.push(chunk({ content: piece }, null, true));
    }
    frames.push(chunk({}, 'stop'));
  } else {
    const opening = [{ index: 0, ...TOOL_CALL, function: { name: tool, arguments: '' } }];
    frames.push(chunk({ role: 'assistant', content: null, tool_calls: opening }, null));
    for (const piece of TOOL_ARGUMENT_PIECES) {
      frames.push(
        chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null, true),
      );
    }
    frames.push(chunk({}, 'tool_calls'));
  }
  if (includeUsage) {
    frames.push(dataFrame({ ...base, object: 'chat.completion.chunk', choices: [], usage }));
  }
  frames.push(DONE);
  return frames;
}

const DONE: SseFrame = { text: 'data: [DONE]\n\n', content: false };

function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  // Token arrays (numbers) are accepted too; their JSON text stands in for the text.
  if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

function toBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** The largest `dimensions` served: text-embedding-3-large's size. */
export const MAX_EMBEDDING_DIMENSIONS = 3072;

/** The vector length asked for (`dimensions`, else the fake's default), or why it is refused. */
function dimensionsOf(model: string, dimensions: unknown): number | Refusal {
  if (dimensions === undefined || dimensions === null) return EMBEDDING_DIMENSIONS;
  if (model.includes('ada-002')) {
    return {
      problem: 'This model does not support specifying dimensions.',
      param: 'dimensions',
      code: null,
    };
  }
  if (
    typeof dimensions !== 'number' ||
    !Number.isInteger(dimensions) ||
    dimensions < 1 ||
    dimensions > MAX_EMBEDDING_DIMENSIONS
  ) {
    return {
      problem: `Invalid value for 'dimensions' = ${JSON.stringify(dimensions)}. Must be an integer from 1 to ${MAX_EMBEDDING_DIMENSIONS}.`,
      param: 'dimensions',
      code: 'invalid_value',
    };
  }
  return dimensions;
}

function embeddings({ body }: RouteRequest, _ctx: AnswerContext): Answer {
  if (!isRecord(body)) return reject('The request body must be a JSON object.');
  const { model, encoding_format: format } = body;
  if (typeof model !== 'string') return reject("you must provide a model parameter ('model')");
  const inputs = embeddingInputs(body['input']);
  if (inputs === undefined) return reject("'input' must be a string or a non-empty array");
  const dims = dimensionsOf(model, body['dimensions']);
  if (typeof dims !== 'number') return refusal(dims);
  const tokens = inputs.reduce((sum, text) => sum + wordCount(text), 0);
  const data = inputs.map((text, index) => {
    const vector = embeddingOf(text, dims);
    return {
      object: 'embedding',
      index,
      embedding: format === 'base64' ? toBase64(vector) : vector,
    };
  });
  return {
    kind: 'json',
    body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

function models(_request: unknown, ctx: AnswerContext): Answer {
  const data = ctx.models.map((id) => ({ id, object: 'model', created: 0, owned_by: ctx.name }));
  return { kind: 'json', body: { object: 'list', data } };
}

export const openaiApi: WireApi = {
  name: 'openai',
  route(method, path) {
    if (method === 'GET' && path === '/v1/models') return models;
    if (method === 'POST' && path === '/v1/chat/completions') return chat;
    if (method === 'POST' && path === '/v1/embeddings') return embeddings;
    if (method === 'POST' && path === '/v1/responses') return responses;
    return undefined;
  },
  authorized(headers, apiKey) {
    return header(headers, 'authorization') === `Bearer ${apiKey}`;
  },
  errorBody,
  invalidStream() {
    return [
      { text: 'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":\n\n', content: true },
      { text: 'data: this is not json\n\n', content: true },
      { text: 'dta: {"misspelled":"field"}\n\n', content: false },
      DONE,
    ];
  },
};
