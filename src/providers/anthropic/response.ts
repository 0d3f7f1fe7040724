/**
 * Anthropic Messages answers as OpenAI Chat Completions: finish reasons, usage, and the whole
 * (non-streamed) message. Streams go through AnthropicStreamTranslator (stream.ts).
 */
import type {
  ChatCompletion,
  ChatCompletionMessage,
  ChatToolCall,
  FinishReason,
  Usage,
} from '../../upstream/openai-types.js';
import type { AnthropicMessage, AnthropicUsage } from './types.js';

/** Anthropic's stop_reason as OpenAI's finish_reason; anything new reads as a normal stop. */
export function toFinishReason(stopReason: string | null): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default: // end_turn, stop_sequence, pause_turn, null
      return 'stop';
  }
}

/**
 * Anthropic counts cached prompt tokens apart from input_tokens; OpenAI's prompt_tokens
 * includes them (and names the cache reads), so the sum is what a client expects to be billed.
 */
export function toUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cacheRead + (usage.cache_creation_input_tokens ?? 0);
  const out: Usage = {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
  };
  if (cacheRead > 0) out.prompt_tokens_details = { cached_tokens: cacheRead };
  return out;
}

/**
 * Converts a Messages API answer; `now` is epoch milliseconds (Date.now()). A call of
 * `jsonTool` (json-format.ts) is the answer itself: its input becomes the content.
 */
export function fromAnthropicResponse(
  res: AnthropicMessage,
  requestModel: string,
  now: number = Date.now(),
  jsonTool?: string,
): ChatCompletion {
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  let json: string | undefined;
  for (const block of res.content) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use' && block.name === jsonTool) {
      json = JSON.stringify(block.input);
    } else if (block.type === 'tool_use') {
      const args = JSON.stringify(block.input);
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: args },
      });
    }
  }
  const message: ChatCompletionMessage = {
    role: 'assistant',
    // Anthropic splits text around citations; joined it reads as written.
    content: json ?? (texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : ''),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: `chatcmpl-${res.id}`,
    object: 'chat.completion',
    created: Math.floor(now / 1000),
    model: requestModel,
    choices: [
      {
        index: 0,
        message,
        finish_reason: toFinishReason(json === undefined ? res.stop_reason : jsonStop(res)),
        logprobs: null,
      },
    ],
    usage: toUsage(res.usage),
  };
}

/** A JSON answer ends with the forced tool's call: that is a normal stop, not tool_calls. */
function jsonStop(res: AnthropicMessage): string | null {
  return res.stop_reason === 'tool_use' ? 'end_turn' : res.stop_reason;
}
