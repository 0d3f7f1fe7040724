/**
 * A Messages API request as our ChatCompletionRequest, for providers that do not serve the
 * Messages API natively. Pure: no I/O. What chat cannot carry is dropped when losing it
 * changes no answer's meaning (cache breakpoints, thinking replay) and refused with a 400
 * naming the field when it would (server tools, URL documents); README.md has the table.
 */
import type {
  ChatAssistantMessage,
  ChatCompletionRequest,
  ChatContentPart,
  ChatFunctionTool,
  ChatMessage,
  ChatToolCall,
  ChatToolChoice,
  ChatToolMessage,
} from '../../upstream/openai-types.js';
import { blockParts, contentParts } from './content.js';
import { invalidRequest } from './errors.js';
import type {
  AnthropicContentBlockParam,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicThinkingConfig,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
} from './types.js';

/** OpenAI's reasoning effort, which OpenAI-compatible reasoning models also read. */
export type ReasoningEffort = 'low' | 'medium' | 'high';

/** The chat request a Messages request becomes (its `reasoning_effort` one of ReasoningEffort). */
export type ChatRequestFromMessages = ChatCompletionRequest;

/** Builds the chat request; throws a MessagesFormatError (400) for what chat cannot carry. */
export function toChatRequest(req: AnthropicMessagesRequest): ChatRequestFromMessages {
  const messages: ChatMessage[] = [];
  const system = systemText(req.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  req.messages.forEach((message, i) => messages.push(...toChatMessages(message, `messages.${i}`)));

  const out: ChatRequestFromMessages = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.tools !== undefined && req.tools.length > 0) {
    out.tools = req.tools.map((tool, k) => toFunctionTool(tool, `tools.${k}`));
  }
  if (req.tool_choice !== undefined) Object.assign(out, toolChoice(req.tool_choice, out.tools));
  const effort = reasoningEffort(req.thinking);
  if (effort !== undefined) out.reasoning_effort = effort;
  if (req.stop_sequences !== undefined && req.stop_sequences.length > 0) {
    out.stop = req.stop_sequences;
  }
  // Anthropic's 0-1 temperature means the same on OpenAI's 0-2 scale up to 1.
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  const user = req.metadata?.user_id;
  if (user != null && user !== '') out.user = user;
  if (req.stream === true) {
    out.stream = true;
    // A Messages stream reports usage in message_delta: the chat stream must carry it.
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** System blocks as one string: many OpenAI-compatible servers take no parts there. */
function systemText(system: AnthropicMessagesRequest['system']): string {
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return system.map((b) => b.text).join('\n\n');
}

function toChatMessages(message: AnthropicMessageParam, at: string): ChatMessage[] {
  if (message.role === 'assistant') {
    const assistant = assistantMessage(message.content, at);
    return assistant === undefined ? [] : [assistant];
  }
  if (typeof message.content === 'string') return [{ role: 'user', content: message.content }];
  return userTurn(message.content, `${at}.content`);
}

/**
 * A user turn: its tool results as `tool` messages (chat wants them right after the
 * assistant's calls), then one user message with every other block in order, and what a
 * tool result held that a tool message cannot (images, PDFs).
 */
function userTurn(blocks: AnthropicContentBlockParam[], at: string): ChatMessage[] {
  const tools: ChatToolMessage[] = [];
  const parts: ChatContentPart[] = [];
  blocks.forEach((block, j) => {
    if (block.type === 'tool_result') {
      const { message, extra } = toolMessage(block, `${at}.${j}`);
      tools.push(message);
      parts.push(...extra);
    } else {
      parts.push(...blockParts(block, `${at}.${j}`));
    }
  });
  const out: ChatMessage[] = [...tools];
  if (parts.length > 0) {
    const only = parts.length === 1 ? parts[0] : undefined;
    out.push({ role: 'user', content: only?.type === 'text' ? only.text : parts });
  }
  return out;
}

/**
 * A tool result as a tool message: its text, prefixed `Error: ` when `is_error` (chat has no
 * error flag, and the model should know the call failed). Images and documents go to the
 * user message after the tool messages.
 */
function toolMessage(
  block: AnthropicToolResultBlock,
  at: string,
): { message: ChatToolMessage; extra: ChatContentPart[] } {
  const texts: string[] = [];
  const extra: ChatContentPart[] = [];
  if (typeof block.content === 'string') texts.push(block.content);
  else {
    contentParts(block.content ?? [], `${at}.content`).forEach((part) => {
      if (part.type === 'text') texts.push(part.text);
      else extra.push(part);
    });
  }
  const text = texts.join('\n\n');
  const content = block.is_error === true ? `Error: ${text}`.trimEnd() : text;
  return { message: { role: 'tool', tool_call_id: block.tool_use_id, content }, extra };
}

/**
 * An assistant turn: text as content, tool_use as tool calls; thinking and redacted thinking
 * are dropped (their signatures only Anthropic can check). Undefined when nothing is left.
 */
function assistantMessage(
  content: string | AnthropicContentBlockParam[],
  at: string,
): ChatAssistantMessage | undefined {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const calls: ChatToolCall[] = [];
  content.forEach((block, j) => {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      calls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input) },
      });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      throw unsupportedBlock(block, `${at}.content.${j}`);
    }
  });
  const text = texts.join('');
  if (text === '' && calls.length === 0) return undefined;
  const message: ChatAssistantMessage = { role: 'assistant', content: text === '' ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function unsupportedBlock(block: { type: string }, at: string) {
  return invalidRequest(
    `${at}.type`,
    `'${block.type}' blocks are served only by providers that speak the Messages API natively`,
  );
}

function toFunctionTool(tool: AnthropicTool, at: string): ChatFunctionTool {
  if (tool.type != null && tool.type !== 'custom') {
    throw invalidRequest(
      `${at}.type`,
      `the server tool '${String(tool.type)}' is served only by anthropic providers`,
    );
  }
  const fn: ChatFunctionTool['function'] = { name: tool.name, parameters: tool.input_schema };
  if (tool.description !== undefined) fn.description = tool.description;
  return { type: 'function', function: fn };
}

function toolChoice(
  choice: AnthropicToolChoice,
  tools: ChatRequestFromMessages['tools'],
): Pick<ChatCompletionRequest, 'tool_choice' | 'parallel_tool_calls'> {
  const mapped: ChatToolChoice =
    choice.type === 'any'
      ? 'required'
      : choice.type === 'tool'
        ? { type: 'function', function: { name: choice.name } }
        : choice.type;
  // OpenAI refuses parallel_tool_calls on a request without tools.
  const serial = choice.type !== 'none' && choice.disable_parallel_tool_use === true;
  return serial && tools != null
    ? { tool_choice: mapped, parallel_tool_calls: false }
    : { tool_choice: mapped };
}

/**
 * Extended thinking as OpenAI's reasoning effort, by budget.
 *
 * NOTE: the buckets follow the budgets Claude Code asks for (about 4,000 tokens for "think",
 * 10,000 for "think hard", 31,999 for "ultrathink"), so each lands on its own level:
 * under 8,000 is `low`, under 24,000 `medium`, more is `high`. `adaptive` (the model
 * decides) and `disabled` send no effort: the upstream model's default applies.
 */
export function reasoningEffort(
  thinking: AnthropicThinkingConfig | undefined,
): ReasoningEffort | undefined {
  if (thinking?.type !== 'enabled') return undefined;
  if (thinking.budget_tokens < 8_000) return 'low';
  return thinking.budget_tokens < 24_000 ? 'medium' : 'high';
}
