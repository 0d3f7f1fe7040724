/**
 * OpenAI Chat Completions <-> Anthropic Messages, as pure functions: no I/O, no clock unless
 * passed in. The HTTP adapter sends what toAnthropicRequest builds and hands the answer to
 * fromAnthropicResponse; streams go through AnthropicStreamTranslator (stream.ts).
 *
 * Anthropic is stricter than OpenAI in ways a client never sees: roles must alternate, tool
 * results travel in user turns and must lead them, tool inputs are objects, text blocks
 * must not be empty. The request translation repairs what it can and throws a
 * TranslationError (a client error, with the offending `param`) for what it cannot.
 */
import { hash } from 'node:crypto';
import { isRecord } from '../../json.js';
import { JSON_TOOL, jsonFormatTool } from './json-format.js';
import { TranslationError } from './translation-error.js';
import type {
  ChatAssistantMessage,
  ChatCompletionRequest,
  ChatContentPart,
  ChatContentPartText,
  ChatTool,
  ChatToolMessage,
} from '../../upstream/openai-types.js';
import type {
  AnthropicContentBlockParam,
  AnthropicImageBlock,
  AnthropicMessagesRequest,
  AnthropicTextBlock,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
} from './types.js';

export { TranslationError };

export interface ToAnthropicOptions {
  /** The upstream model id (the client's model name may be an alias). */
  model: string;
  /** Anthropic requires max_tokens; used when the client sets neither limit. */
  maxTokensDefault: number;
}

interface Turn {
  role: 'user' | 'assistant';
  content: AnthropicContentBlockParam[];
}

/** Builds the body of POST /v1/messages; throws TranslationError for what has no equivalent. */
export function toAnthropicRequest(
  req: ChatCompletionRequest,
  opts: ToAnthropicOptions,
): AnthropicMessagesRequest {
  if (req.n != null && req.n > 1) {
    throw new TranslationError(
      `n=${req.n} is not supported for Anthropic models, which return one choice per request`,
      'n',
    );
  }
  const system: string[] = [];
  const turns: Turn[] = [];
  req.messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textParts(message.content, `${at}.content`).filter(hasText));
        break;
      case 'user':
        appendTurn(turns, 'user', userBlocks(message.content, `${at}.content`));
        break;
      case 'assistant':
        appendTurn(turns, 'assistant', assistantBlocks(message, at));
        break;
      case 'tool':
        appendTurn(turns, 'user', [toolResult(message, at)]);
        break;
      default:
        throw new TranslationError(`unsupported message role`, `${at}.role`);
    }
  });
  for (const turn of turns) if (turn.role === 'user') toolResultsFirst(turn);
  trimTrailingAssistant(turns);
  if (turns.length === 0) {
    throw new TranslationError(
      'Anthropic needs at least one user or assistant message with text or content, ' +
        'not only system messages',
      'messages',
    );
  }

  const out: AnthropicMessagesRequest = {
    model: opts.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? opts.maxTokensDefault,
    messages: turns,
  };
  if (system.length > 0) out.system = system.join('\n\n');
  Object.assign(out, toolsAndChoice(req, turns));
  const jsonTool = jsonFormatTool(req);
  if (jsonTool !== undefined) {
    // The answer comes as one forced tool call (json-format.ts), which leaves the client's
    // own tools uncallable: the two together have no faithful translation.
    if (req.tools != null && req.tools.length > 0) {
      throw new TranslationError(
        'response_format together with tools is not translated for Anthropic models',
        'response_format',
      );
    }
    out.tools = [...(out.tools ?? []), jsonTool];
    out.tool_choice = { type: 'tool', name: JSON_TOOL };
  }
  if (req.stop != null) {
    // Anthropic refuses a whitespace-only stop sequence ("\n" is a common OpenAI idiom);
    // like Anthropic's own OpenAI layer, those are left out.
    const stops = (typeof req.stop === 'string' ? [req.stop] : req.stop).filter(hasText);
    if (stops.length > 0) out.stop_sequences = stops;
  }
  // OpenAI's range is 0-2, Anthropic's 0-1: values up to 1 mean the same on both and pass
  // as they are; above 1 is "as random as it goes", which on Anthropic is 1. Sending 1.5
  // would be refused with a 400 that no other provider would have given.
  if (req.temperature != null) out.temperature = Math.min(req.temperature, 1);
  // Current Claude models refuse temperature and top_p together, which OpenAI clients often
  // send both of: temperature, the one OpenAI documents first, wins.
  if (req.top_p != null && out.temperature === undefined) out.top_p = req.top_p;
  if (req.stream != null) out.stream = req.stream;
  if (req.user != null) out.metadata = { user_id: anthropicUserId(req.user) };
  return out;
}

const hasText = (s: string): boolean => s.trim() !== '';

/**
 * Anthropic refuses a user_id longer than 256 characters or one that looks like an email
 * address or phone number (it wants an opaque id). Such ids go as their SHA-256: still one
 * stable id per end user for abuse tracking, without the personal data.
 */
export function anthropicUserId(user: string): string {
  const personal = user.includes('@') || /^\+?[\d\s().-]{7,}$/.test(user);
  return user.length <= 256 && !personal ? user : hash('sha256', user);
}

/** Anthropic requires tool ids to match ^[a-zA-Z0-9_-]+$; other providers' ids may not. */
function toolId(id: string): string {
  return /^[a-zA-Z0-9_-]+$/.test(id) ? id : id.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/**
 * A conversation may end in an assistant turn (a prefill Anthropic continues), but its last
 * text must not end in whitespace; an emptied block or turn is dropped.
 */
function trimTrailingAssistant(turns: Turn[]): void {
  const last = turns.at(-1);
  const block = last?.content.at(-1);
  if (last?.role !== 'assistant' || block?.type !== 'text') return;
  const text = block.text.trimEnd();
  if (text !== '') block.text = text;
  else if (last.content.length > 1) last.content.pop();
  else turns.pop();
}

/** Anthropic rejects consecutive turns of one role, so they become one turn. */
function appendTurn(turns: Turn[], role: Turn['role'], blocks: AnthropicContentBlockParam[]): void {
  if (blocks.length === 0) return; // Anthropic rejects empty turns; dropping one is harmless.
  const last = turns.at(-1);
  if (last?.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}

/** Anthropic requires a user turn's tool_result blocks to come before anything else in it. */
function toolResultsFirst(turn: Turn): void {
  const results = turn.content.filter((b) => b.type === 'tool_result');
  if (results.length === 0 || results.length === turn.content.length) return;
  turn.content = [...results, ...turn.content.filter((b) => b.type !== 'tool_result')];
}

function textParts(content: string | ChatContentPartText[], at: string): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content];
  return content.map((part, j) => {
    if (part.type !== 'text') {
      throw new TranslationError(`only text parts are allowed here`, `${at}[${j}]`);
    }
    return part.text;
  });
}

function textBlocks(content: string | ChatContentPartText[], at: string): AnthropicTextBlock[] {
  // Anthropic refuses text blocks without non-whitespace text.
  return textParts(content, at)
    .filter(hasText)
    .map((text) => ({ type: 'text', text }));
}

function userBlocks(content: string | ChatContentPart[], at: string): AnthropicContentBlockParam[] {
  if (typeof content === 'string') return textBlocks(content, at);
  const blocks: AnthropicContentBlockParam[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text') {
      if (hasText(part.text)) blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      blocks.push(imageBlock(part.image_url.url, `${at}[${j}].image_url.url`));
    } else {
      throw new TranslationError(`unsupported content part type`, `${at}[${j}].type`);
    }
  });
  return blocks;
}

/** data: URLs become inline base64 images; http(s) URLs are fetched by Anthropic itself. */
function imageBlock(url: string, at: string): AnthropicImageBlock {
  if (url.startsWith('https://') || url.startsWith('http://')) {
    return { type: 'image', source: { type: 'url', url } };
  }
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    // Only the header is inspected: the payload may be megabytes of base64.
    const header = comma === -1 ? '' : url.slice(5, comma);
    const mediaType = header.split(';', 1)[0] ?? '';
    if (header.endsWith(';base64') && mediaType !== '') {
      return {
        type: 'image',
        source: { type: 'base64', media_type: mediaType, data: url.slice(comma + 1) },
      };
    }
    throw new TranslationError('image data URLs must be base64 with a media type', at);
  }
  throw new TranslationError('image URLs must be http(s) or base64 data: URLs', at);
}

function assistantBlocks(message: ChatAssistantMessage, at: string): AnthropicContentBlockParam[] {
  const blocks: AnthropicContentBlockParam[] =
    message.content == null ? [] : textBlocks(message.content, `${at}.content`);
  message.tool_calls?.forEach((call, j) => {
    const callAt = `${at}.tool_calls[${j}]`;
    if (call.type !== 'function') {
      throw new TranslationError('only function tool calls are supported', `${callAt}.type`);
    }
    blocks.push({
      type: 'tool_use',
      id: toolId(call.id),
      name: call.function.name,
      input: parseArguments(call.function.arguments, `${callAt}.function.arguments`),
    });
  });
  return blocks;
}

/** Tool call arguments are a JSON string to OpenAI and an object to Anthropic. */
function parseArguments(args: string, at: string): Record<string, unknown> {
  // Some clients send '' for a tool without parameters.
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TranslationError(`tool call arguments are not valid JSON: ${reason}`, at);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TranslationError('tool call arguments must be a JSON object', at);
  }
  return input as Record<string, unknown>;
}

function toolResult(message: ChatToolMessage, at: string): AnthropicToolResultBlock {
  const block: AnthropicToolResultBlock = {
    type: 'tool_result',
    tool_use_id: toolId(message.tool_call_id),
  };
  if (typeof message.content === 'string') {
    if (hasText(message.content)) block.content = message.content;
  } else {
    const blocks = textBlocks(message.content, `${at}.content`);
    if (blocks.length > 0) block.content = blocks;
  }
  return block;
}

/** The function a tool_choice object names; a TranslationError for any other choice. */
function functionChoice(choice: Record<string, unknown>): string {
  const fn = choice['function'];
  const name = choice['type'] === 'function' && isRecord(fn) ? fn['name'] : undefined;
  if (typeof name !== 'string') {
    throw new TranslationError(
      "tool_choice must be 'auto', 'none', 'required' or a function for Anthropic models",
      'tool_choice',
    );
  }
  return name;
}

/** One never-called definition per tool name the history's tool_use blocks name. */
function standInTools(turns: Turn[]): AnthropicTool[] {
  const names = new Set<string>();
  for (const t of turns) for (const b of t.content) if (b.type === 'tool_use') names.add(b.name);
  return [...names].map((name) => ({
    name,
    description: 'A tool used earlier in this conversation; not available now.',
    input_schema: { type: 'object', properties: {} },
  }));
}

function toTool(tool: ChatTool, at: string): AnthropicTool {
  if (tool.type !== 'function') {
    throw new TranslationError('only function tools are supported', `${at}.type`);
  }
  const out: AnthropicTool = {
    name: tool.function.name,
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
  };
  if (tool.function.description !== undefined) out.description = tool.function.description;
  return out;
}

/**
 * OpenAI's `tool_choice: 'none'` keeps tools defined but unused. Anthropic's equivalent is to
 * send no tools, except that a history holding tool_use/tool_result blocks is rejected
 * without tool definitions; then the tools stay and tool_choice is `{type:'none'}`. A
 * history with tool calls but no tools at all (summarising an agent's transcript, say) gets
 * a stand-in definition per tool name used, which tool_choice `none` keeps from being called.
 */
function toolsAndChoice(
  req: ChatCompletionRequest,
  turns: Turn[],
): Pick<AnthropicMessagesRequest, 'tools' | 'tool_choice'> {
  // Null is "provider default", as absent; an object must name a function (custom and
  // allowed_tools choices have no Anthropic form).
  const choice: unknown = req.tool_choice ?? undefined;
  const forced =
    typeof choice === 'object' ? functionChoice(choice as Record<string, unknown>) : undefined;
  if (req.functions != null && req.functions.length > 0) {
    throw new TranslationError(
      'legacy functions are not translated for Anthropic models; send them as tools',
      'functions',
    );
  }
  const history = (): boolean =>
    turns.some((t) => t.content.some((b) => b.type === 'tool_use' || b.type === 'tool_result'));
  if (req.tools == null || req.tools.length === 0) {
    if (choice === 'required' || forced !== undefined) {
      throw new TranslationError('tool_choice requires tools', 'tool_choice');
    }
    const stands = history() ? standInTools(turns) : [];
    return stands.length > 0 ? { tools: stands, tool_choice: { type: 'none' } } : {};
  }
  const tools = req.tools.map((tool, k) => toTool(tool, `tools[${k}]`));
  if (choice === 'none') return history() ? { tools, tool_choice: { type: 'none' } } : {};
  let toolChoice: Exclude<AnthropicToolChoice, { type: 'none' }> | undefined;
  if (choice === 'auto') toolChoice = { type: 'auto' };
  else if (choice === 'required') toolChoice = { type: 'any' };
  else if (forced !== undefined) toolChoice = { type: 'tool', name: forced };
  if (req.parallel_tool_calls === false) {
    toolChoice = { ...(toolChoice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return toolChoice === undefined ? { tools } : { tools, tool_choice: toolChoice };
}
