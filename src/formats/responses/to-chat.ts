/**
 * A Responses request as a Chat Completions request, for upstreams that do not serve the
 * Responses API natively. Pure: the caller expands `previous_response_id` into the earlier
 * conversation's items (inputs and outputs, oldest first) and passes them as `prior`.
 *
 * What maps: instructions -> a system message first; messages -> messages (input_image ->
 * image_url part, input_file -> file part); function_call items -> the assistant's
 * tool_calls (joined to the assistant message just before them); function_call_output ->
 * tool messages; function tools, tool_choice, text.format -> response_format,
 * max_output_tokens -> max_completion_tokens, reasoning.effort -> reasoning_effort, stream ->
 * stream with usage.
 *
 * What cannot be carried: reasoning items (dropped: chat has no way to send them back);
 * reasoning.summary and text.verbosity (dropped); a function tool's implicit strict mode
 * (Responses makes schemas strict unless `strict: false`; chat sends `strict` only when the
 * client set it); built-in tools, other tool types, and items or parts with no chat form
 * (refused with a ResponsesTranslationError naming the param: only a native upstream can
 * serve them). `store`, `metadata`, `truncation` and `previous_response_id` are the proxy's.
 */
import type {
  ChatAssistantMessage,
  ChatCompletionRequest,
  ChatContentPart,
  ChatContentPartText,
  ChatMessage,
  ChatTool,
  ChatToolChoice,
  ResponseFormat,
} from '../../upstream/openai-types.js';
import { ResponsesTranslationError } from './errors.js';
import { isBuiltinTool } from './parse.js';
import type {
  ContentPart,
  FunctionTool,
  InputItem,
  MessageItem,
  ResponsesRequest,
  TextFormat,
  Tool,
  ToolChoice,
} from './types.js';

export interface ToChatOptions {
  /** The conversation before this request (previous_response_id, expanded), oldest first. */
  prior?: readonly InputItem[];
  /** The upstream's model id, when the client's model name is an alias. */
  model?: string;
}

/** Builds the chat request; throws ResponsesTranslationError for what chat cannot carry. */
export function toChatRequest(
  req: ResponsesRequest,
  opts: ToChatOptions = {},
): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  if (req.instructions != null && req.instructions !== '') {
    messages.push({ role: 'system', content: req.instructions });
  }
  // Prior items were valid when they were sent; one chat cannot carry is this request's
  // `previous_response_id`, the only param the client can change about them.
  addPrior(messages, opts.prior ?? []);
  if (typeof req.input === 'string') messages.push({ role: 'user', content: req.input });
  else req.input.forEach((item, i) => addItem(messages, item, `input[${i}]`));

  const out: ChatCompletionRequest = { model: opts.model ?? req.model, messages };
  if (req.tools != null && req.tools.length > 0) out.tools = req.tools.map(toChatTool);
  if (req.tool_choice != null) out.tool_choice = toChatToolChoice(req.tool_choice);
  const format = req.text?.format;
  if (format !== undefined && format.type !== 'text') out.response_format = toChatFormat(format);
  if (req.max_output_tokens != null) out.max_completion_tokens = req.max_output_tokens;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.parallel_tool_calls != null) out.parallel_tool_calls = req.parallel_tool_calls;
  if (req.reasoning?.effort != null) out.reasoning_effort = req.reasoning.effort;
  if (req.user != null) out.user = req.user;
  if (req.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

function untranslatable(what: string, param: string): ResponsesTranslationError {
  return new ResponsesTranslationError(
    `${what} has no Chat Completions equivalent, and this model's provider is reached ` +
      'through Chat Completions. Send it to a model whose provider natively serves the ' +
      'Responses API, or leave it out.',
    param,
  );
}

function addPrior(messages: ChatMessage[], prior: readonly InputItem[]): void {
  try {
    prior.forEach((item, i) => addItem(messages, item, `previous_response_id[${i}]`));
  } catch (err) {
    if (!(err instanceof ResponsesTranslationError)) throw err;
    throw new ResponsesTranslationError(
      `The conversation of previous_response_id cannot be continued here: ${err.message}`,
      'previous_response_id',
      err.builtinTool,
    );
  }
}

function addItem(messages: ChatMessage[], item: InputItem, at: string): void {
  switch (item.type) {
    case undefined:
    case 'message':
      messages.push(toChatMessage(item as MessageItem, at));
      return;
    case 'function_call': {
      const call = item as Extract<InputItem, { type: 'function_call' }>;
      const toolCall = {
        id: call.call_id,
        type: 'function' as const,
        function: { name: call.name, arguments: call.arguments },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant') (last.tool_calls ??= []).push(toolCall);
      else messages.push({ role: 'assistant', content: null, tool_calls: [toolCall] });
      return;
    }
    case 'function_call_output': {
      const output = item as Extract<InputItem, { type: 'function_call_output' }>;
      const content = textContent(output.output, `${at}.output`, 'A function_call_output');
      messages.push({ role: 'tool', tool_call_id: output.call_id, content });
      return;
    }
    case 'reasoning':
      return; // chat has no way to send reasoning back; the model reasons afresh
    default:
      throw untranslatable(`An input item of type '${item.type}'`, `${at}.type`);
  }
}

function toChatMessage(item: MessageItem, at: string): ChatMessage {
  const param = `${at}.content`;
  switch (item.role) {
    case 'system':
    case 'developer':
      return { role: item.role, content: textContent(item.content, param, 'A system message') };
    case 'assistant':
      return assistantMessage(item.content, param);
    default:
      return {
        role: 'user',
        content:
          typeof item.content === 'string'
            ? item.content
            : item.content.map((part, j) => userPart(part, `${param}[${j}]`)),
      };
  }
}

/** Text parts only: system messages and tool results carry no media in chat. */
function textContent(
  content: string | ContentPart[],
  param: string,
  what: string,
): string | ChatContentPartText[] {
  if (typeof content === 'string') return content;
  return content.map((part, j) => {
    if (part.type === 'input_text' || part.type === 'output_text') {
      return { type: 'text', text: (part as { text: string }).text };
    }
    throw untranslatable(`${what} with a '${part.type}' part`, `${param}[${j}].type`);
  });
}

function assistantMessage(content: string | ContentPart[], param: string): ChatAssistantMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: ChatContentPartText[] = [];
  const refusals: string[] = [];
  content.forEach((part, j) => {
    if (part.type === 'output_text') texts.push({ type: 'text', text: part.text as string });
    else if (part.type === 'refusal') refusals.push(part.refusal as string);
    else throw untranslatable(`An assistant '${part.type}' part`, `${param}[${j}].type`);
  });
  const message: ChatAssistantMessage = {
    role: 'assistant',
    content: texts.length > 0 ? texts : null,
  };
  if (refusals.length > 0) message.refusal = refusals.join('\n');
  return message;
}

function userPart(part: ContentPart, at: string): ChatContentPart {
  switch (part.type) {
    case 'input_text':
      return { type: 'text', text: part.text as string };
    case 'input_image': {
      const image = part as Extract<ContentPart, { type: 'input_image' }>;
      if (image.image_url == null) {
        throw untranslatable('An input_image by file_id (an OpenAI file)', `${at}.file_id`);
      }
      const url = { url: image.image_url };
      // 'original' (no downscaling) is finest detail chat offers as 'high'.
      if (image.detail === undefined) return { type: 'image_url', image_url: url };
      const detail = image.detail === 'original' ? 'high' : image.detail;
      return { type: 'image_url', image_url: { ...url, detail } };
    }
    case 'input_file': {
      const file = part as Extract<ContentPart, { type: 'input_file' }>;
      if (file.file_url !== undefined) {
        throw untranslatable('An input_file by file_url', `${at}.file_url`);
      }
      const out: { file_data?: string; file_id?: string; filename?: string } = {};
      if (file.file_data !== undefined) out.file_data = file.file_data;
      if (file.file_id != null) out.file_id = file.file_id;
      if (file.filename !== undefined) out.filename = file.filename;
      return { type: 'file', file: out };
    }
    default:
      throw untranslatable(`A user content part of type '${part.type}'`, `${at}.type`);
  }
}

function toChatTool(tool: Tool, i: number): ChatTool {
  if (tool.type !== 'function') {
    if (isBuiltinTool(tool.type)) {
      throw new ResponsesTranslationError(
        `The built-in tool '${tool.type}' is served only by providers that natively serve ` +
          "the Responses API (nativeApis: [responses]); this model's provider is reached " +
          'through Chat Completions. Use such a model, or offer a function tool instead.',
        `tools[${i}].type`,
        true,
      );
    }
    throw untranslatable(`A tool of type '${tool.type}'`, `tools[${i}].type`);
  }
  const fn = tool as FunctionTool;
  const definition: ChatTool & { type: 'function' } = {
    type: 'function',
    function: { name: fn.name },
  };
  if (fn.description != null) definition.function.description = fn.description;
  if (fn.parameters != null) definition.function.parameters = fn.parameters;
  if (fn.strict != null) definition.function.strict = fn.strict;
  return definition;
}

function toChatToolChoice(choice: ToolChoice): ChatToolChoice {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function') {
    return { type: 'function', function: { name: choice.name as string } };
  }
  if (isBuiltinTool(choice.type)) {
    throw new ResponsesTranslationError(
      `Forcing the built-in tool '${choice.type}' needs a provider that natively serves the ` +
        'Responses API.',
      'tool_choice.type',
      true,
    );
  }
  throw untranslatable(`A tool_choice of type '${choice.type}'`, 'tool_choice.type');
}

function toChatFormat(format: Exclude<TextFormat, { type: 'text' }>): ResponseFormat {
  if (format.type === 'json_object') return { type: 'json_object' };
  const schema: Extract<ResponseFormat, { type: 'json_schema' }>['json_schema'] = {
    name: format.name,
    schema: format.schema,
  };
  if (format.description !== undefined) schema.description = format.description;
  if (format.strict != null) schema.strict = format.strict;
  return { type: 'json_schema', json_schema: schema };
}
