/**
 * What a provider needs to know of each inbound API it may pass through unchanged (its
 * `nativeApis`): the path, how to check a whole JSON answer and read its usage, and how a
 * stream's events say usage and their end. The bytes themselves are never re-encoded.
 *
 * Usage is normalised to chat's shape (prompt/completion/total tokens), which is what the
 * token metrics and spans count, whatever API the answer came in.
 */
import type { InboundApiName } from '../config/index.js';
import { isRecord } from '../json.js';
import { UpstreamError, type StreamStats } from '../upstream/index.js';
import { knownErrorType } from './anthropic/stream.js';
import type { Usage } from '../upstream/openai-types.js';

export interface NativeFormat {
  /** The path under the provider's baseUrl. */
  readonly path: string;
  /** Checks a parsed 2xx JSON answer (throws invalid_response) and returns its usage. */
  readonly answer: (value: Record<string, unknown>) => Usage | undefined;
  /**
   * Records what one parsed stream event says: usage, and the stream's end; throws an
   * UpstreamError for an event that says the stream failed.
   */
  readonly see: (event: Record<string, unknown>, stats: StreamStats) => void;
}

const invalid = (what: string): UpstreamError =>
  new UpstreamError('invalid_response', `${what} from provider`);

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Chat and legacy completions: `usage` as chat has it; the end is `[DONE]` (not JSON). */
export function seeChatEvent(event: Record<string, unknown>, stats: StreamStats): void {
  const usage = event['usage'] as Usage | null | undefined;
  if (usage != null) stats.usage = usage;
}

/** Responses usage: input/output tokens, with cached and reasoning details. */
export function responsesUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = num(usage.input_tokens);
  const output = num(usage.output_tokens);
  const out: Usage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: num(usage.total_tokens) || input + output,
  };
  const cached = isRecord(usage.input_tokens_details)
    ? usage.input_tokens_details.cached_tokens
    : undefined;
  const reasoning = isRecord(usage.output_tokens_details)
    ? usage.output_tokens_details.reasoning_tokens
    : undefined;
  if (typeof cached === 'number') out.prompt_tokens_details = { cached_tokens: cached };
  if (typeof reasoning === 'number')
    out.completion_tokens_details = { reasoning_tokens: reasoning };
  return out;
}

/** The Responses stream's terminal events: each carries the whole response, usage included. */
const RESPONSES_TERMINAL = new Set([
  'response.completed',
  'response.incomplete',
  'response.failed',
]);

const responses: NativeFormat = {
  path: '/responses',
  answer: (value) => {
    if (value.object !== 'response' || !Array.isArray(value.output))
      throw invalid('not a response');
    return responsesUsage(value.usage);
  },
  see: (event, stats) => {
    if (typeof event.type !== 'string' || !RESPONSES_TERMINAL.has(event.type)) return;
    stats.done = true;
    if (isRecord(event.response)) stats.usage = responsesUsage(event.response.usage) ?? stats.usage;
  },
};

/**
 * Anthropic usage: input tokens exclude cache reads and writes, which are billed input too;
 * the prompt count is their sum, the cache reads its cached part.
 */
export function messagesUsage(usage: unknown, before?: Usage): Usage | undefined {
  if (!isRecord(usage)) return before;
  const cacheRead = num(usage.cache_read_input_tokens);
  const hasInput = typeof usage.input_tokens === 'number';
  const input = hasInput
    ? num(usage.input_tokens) + cacheRead + num(usage.cache_creation_input_tokens)
    : (before?.prompt_tokens ?? 0);
  const output = typeof usage.output_tokens === 'number' ? usage.output_tokens : 0;
  const out: Usage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
  };
  if (cacheRead > 0) out.prompt_tokens_details = { cached_tokens: cacheRead };
  else if (!hasInput && before?.prompt_tokens_details !== undefined)
    out.prompt_tokens_details = before.prompt_tokens_details;
  return out;
}

const messages: NativeFormat = {
  path: '/messages',
  answer: (value) => {
    if (value.type !== 'message' || !Array.isArray(value.content)) throw invalid('not a message');
    return messagesUsage(value.usage);
  },
  see: (event, stats) => {
    switch (event.type) {
      case 'message_start':
        if (isRecord(event.message)) stats.usage = messagesUsage(event.message.usage, stats.usage);
        return;
      case 'message_delta':
        stats.usage = messagesUsage(event.usage, stats.usage);
        return;
      case 'message_stop':
        stats.done = true;
        return;
      case 'error':
        // Anthropic ends a failing stream (overloaded mid-answer) with an `error` event: a
        // stream error, so before the first frame the engine fails over, and after it the
        // client's stream ends with one error event (the proxy's), not the upstream's and ours.
        throw new UpstreamError(
          'server_error',
          `stream error (${knownErrorType(isRecord(event.error) ? event.error.type : undefined)})`,
        );
      default:
        return;
    }
  },
};

/** The Messages API's token count: `{"input_tokens": N}`, no usage (nothing was generated). */
const countTokens: NativeFormat = {
  path: '/messages/count_tokens',
  answer: (value) => {
    if (typeof value.input_tokens !== 'number') throw invalid('not a token count');
    return undefined;
  },
  see: () => undefined,
};

const chatLike = (path: string, what: string, key: 'choices' | 'data'): NativeFormat => ({
  path,
  answer: (value) => {
    if (!Array.isArray(value[key])) throw invalid(`${what} without ${key}`);
    return (value.usage as Usage | undefined) ?? undefined;
  },
  see: seeChatEvent,
});

export const NATIVE_FORMATS: Readonly<Record<InboundApiName | 'count_tokens', NativeFormat>> = {
  chat: chatLike('/chat/completions', 'answer', 'choices'),
  completions: chatLike('/completions', 'completion', 'choices'),
  embeddings: chatLike('/embeddings', 'embeddings answer', 'data'),
  responses,
  messages,
  count_tokens: countTokens,
};
