/**
 * A chat completion answer as a Messages API response: the content blocks, the stop reason
 * and the usage Anthropic's clients read. Pure; streams go through MessagesStreamEncoder
 * (stream.ts), which shares the mappings here.
 */
import { isRecord } from '../../json.js';
import type { ChatCompletion, ChatToolCall, Usage } from '../../upstream/openai-types.js';
import { MessagesFormatError } from './errors.js';
import type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicStopReason,
  AnthropicUsage,
} from './types.js';

export interface FromChatOptions {
  /** The model name the client asked for, echoed as the message's `model`. */
  model: string;
  /** The request's `stop_sequences`, to tell a matched one from a natural end. */
  stopSequences?: readonly string[] | undefined;
  /** The request enabled thinking: the upstream's reasoning text becomes thinking blocks. */
  thinking?: boolean | undefined;
}

/** Converts a chat completion; throws a MessagesFormatError (502) for an unusable answer. */
export function fromChatCompletion(
  completion: ChatCompletion,
  opts: FromChatOptions,
): AnthropicMessage {
  const choice = completion.choices[0];
  if (choice === undefined) {
    throw new MessagesFormatError(502, 'the upstream answered without a choice');
  }
  const message = choice.message;
  const content: AnthropicContentBlock[] = [];
  const reasoning = reasoningText(message);
  if (opts.thinking === true && reasoning !== '') {
    // No signature: only Anthropic signs thinking; replayed, it is dropped (to-chat.ts).
    content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  }
  if (message.content != null && message.content !== '') {
    content.push({ type: 'text', text: message.content });
  }
  if (message.refusal != null && message.refusal !== '') {
    content.push({ type: 'text', text: message.refusal });
  }
  const id = messageId(completion.id);
  (message.tool_calls ?? []).forEach((call, k) => {
    content.push({
      type: 'tool_use',
      id: call.id !== '' ? call.id : toolUseId(id, content.length),
      name: call.function.name,
      input: toolInput(call, k),
    });
  });
  const stop = stopReason(choice.finish_reason, {
    matched: matchedStop(choice, opts.stopSequences),
    toolCalls: (message.tool_calls?.length ?? 0) > 0,
    refused: message.refusal != null && message.refusal !== '',
  });
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: opts.model,
    content,
    stop_reason: stop.reason,
    stop_sequence: stop.sequence,
    usage: fromChatUsage(completion.usage ?? undefined),
  };
}

/** `msg_` and the chat id without its `chatcmpl-` prefix (`msg_` is what clients log). */
export function messageId(chatId: string): string {
  const bare = chatId.replace(/^chatcmpl-/, '');
  return bare.startsWith('msg_') ? bare : `msg_${bare}`;
}

/** An id for a tool call the upstream sent without one: clients match results by it. */
export function toolUseId(messageId: string, index: number): string {
  return `toolu_${messageId.replace(/^msg_/, '')}_${index}`;
}

/** A tool call's arguments as the object Anthropic's `input` must be. */
export function toolInput(
  call: Pick<ChatToolCall, 'function'>,
  k: number,
): Record<string, unknown> {
  const args = call.function.arguments;
  // Some servers send '' for a call without parameters.
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  if (!isRecord(input)) {
    throw new MessagesFormatError(
      502,
      `the upstream's tool call ${k} (${call.function.name}) has arguments that are not a ` +
        'JSON object, so it cannot be a tool_use block',
    );
  }
  return input;
}

/**
 * Chat's reasoning text: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter,
 * Ollama, newer vLLM), an extension the chat types do not list.
 */
export function reasoningText(message: object): string {
  const m = message as Record<string, unknown>;
  const text = m['reasoning_content'] ?? m['reasoning'];
  return typeof text === 'string' ? text : '';
}

/**
 * The stop sequence that ended the answer, when the upstream says which: vLLM puts it in
 * the choice's `stop_reason` (an extension). OpenAI itself does not, so there a matched
 * sequence reads as a natural `end_turn`.
 */
export function matchedStop(choice: object, stops: readonly string[] | undefined): string | null {
  const said = (choice as Record<string, unknown>)['stop_reason'];
  return typeof said === 'string' && stops?.includes(said) === true ? said : null;
}

export interface StopFacts {
  /** The stop sequence that matched (matchedStop). */
  matched: string | null;
  /** The answer holds tool calls. */
  toolCalls: boolean;
  /** The answer holds a refusal. */
  refused: boolean;
}

/**
 * Chat's finish_reason as Anthropic's stop_reason: `stop` is `end_turn` (`stop_sequence`
 * when one matched), `length` is `max_tokens`, `tool_calls` (and the legacy `function_call`)
 * is `tool_use`, `content_filter` is `refusal`. Servers that end tool calls with `stop`
 * (some OpenAI-compatible ones do) still get `tool_use`: Anthropic clients run tools on it.
 */
export function stopReason(
  finish: string | null,
  facts: StopFacts,
): { reason: AnthropicStopReason; sequence: string | null } {
  if (finish === 'length') return { reason: 'max_tokens', sequence: null };
  if (finish === 'content_filter' || facts.refused) return { reason: 'refusal', sequence: null };
  if (finish === 'tool_calls' || finish === 'function_call' || facts.toolCalls) {
    return { reason: 'tool_use', sequence: null };
  }
  if (facts.matched !== null) return { reason: 'stop_sequence', sequence: facts.matched };
  return { reason: 'end_turn', sequence: null };
}

/**
 * Chat usage as Anthropic's: OpenAI's prompt_tokens includes the cached tokens, Anthropic's
 * input_tokens does not (the total input is input + cache read + cache creation), so cached
 * tokens move to `cache_read_input_tokens`. Cache creation is not reported by chat.
 */
export function fromChatUsage(usage: Usage | undefined): AnthropicUsage {
  if (usage === undefined) return { input_tokens: 0, output_tokens: 0 };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  const out: AnthropicUsage = {
    input_tokens: usage.prompt_tokens - (cached ?? 0),
    output_tokens: usage.completion_tokens,
  };
  if (cached !== undefined) out.cache_read_input_tokens = cached;
  return out;
}
