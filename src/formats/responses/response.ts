/**
 * The parts of a Response object that do not depend on how it was produced: its ids, the
 * request fields the API echoes back (with the API's defaults filled in), usage, and status.
 * Shared by the JSON translation (from-chat.ts) and the stream (stream.ts), so both describe
 * a response the same way. The wire object has no `output_text`: the SDKs compute it.
 */
import { randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from '../../upstream/openai-types.js';
import type {
  FunctionTool,
  ResponseObject,
  ResponseUsage,
  ResponsesRequest,
  ResponseStatus,
  Tool,
} from './types.js';

export type IdKind = 'resp' | 'msg' | 'fc';

/** Makes the id of a new response (`resp`), message item (`msg`) or function call (`fc`). */
export type NewId = (kind: IdKind) => string;

/** Ids shaped like the API's: the kind, an underscore, 48 hex digits. */
export const randomIds: NewId = (kind) => `${kind}_${randomBytes(24).toString('hex')}`;

/** A function tool echoed as the API does, every field present. */
function echoTool(tool: Tool): Tool {
  if (tool.type !== 'function') return tool;
  const fn = tool as FunctionTool;
  return {
    type: 'function',
    name: fn.name,
    description: fn.description ?? null,
    parameters: fn.parameters ?? null,
    strict: fn.strict ?? null,
  };
}

/** An in-progress response for `req`, its output empty, its usage not yet known. */
export function responseShell(
  req: ResponsesRequest,
  id: string,
  model: string,
  createdAt: number,
): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    max_tool_calls: null,
    model,
    output: [],
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? null },
    store: req.store,
    temperature: req.temperature ?? 1,
    text: {
      format: req.text?.format ?? { type: 'text' },
      verbosity: req.text?.verbosity ?? 'medium',
    },
    tool_choice: req.tool_choice ?? 'auto',
    tools: (req.tools ?? []).map(echoTool),
    top_logprobs: 0,
    top_p: req.top_p ?? 1,
    truncation: req.truncation ?? 'disabled',
    usage: null,
    user: req.user ?? null,
    metadata: req.metadata ?? {},
  };
}

/** Chat usage in the Responses vocabulary; the detail counts are 0 when not reported. */
export function toResponseUsage(usage: Usage | null | undefined): ResponseUsage | null {
  if (usage == null) return null;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: {
      reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    total_tokens: usage.total_tokens,
  };
}

export interface Outcome {
  status: Extract<ResponseStatus, 'completed' | 'incomplete'>;
  incomplete_details: ResponseObject['incomplete_details'];
}

/** How a chat finish reason ends a response: cut short by the token limit or a filter. */
export function outcomeOf(finish: FinishReason | null | undefined): Outcome {
  if (finish === 'length') {
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  }
  if (finish === 'content_filter') {
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  }
  return { status: 'completed', incomplete_details: null };
}

/** `shell` finished with `outcome` at `now` (unix seconds): completed_at only if completed. */
export function finished(
  shell: ResponseObject,
  outcome: Outcome,
  usage: ResponseUsage | null,
  now: number,
): ResponseObject {
  return {
    ...shell,
    status: outcome.status,
    completed_at: outcome.status === 'completed' ? now : null,
    incomplete_details: outcome.incomplete_details,
    usage,
  };
}
