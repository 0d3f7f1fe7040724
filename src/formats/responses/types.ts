/**
 * OpenAI's Responses API wire format (POST /v1/responses): the request as parse.ts lets it
 * through, the Response object and the typed stream events, as OpenAI's API reference and
 * the official SDK's types describe them. Plain types, no runtime code.
 *
 * NOTE: like the chat types (upstream/openai-types.ts), the request unions are not
 * exhaustive. Items, content parts, tools and tool choices of types this module does not
 * know pass validation with their `type` checked only, so a native Responses upstream can
 * serve what OpenAI added last week; the translation to chat refuses them naming the param.
 */

// --- Request: input items ---------------------------------------------------------------

export interface InputTextPart {
  type: 'input_text';
  text: string;
}

export interface InputImagePart {
  type: 'input_image';
  image_url?: string | null;
  file_id?: string | null;
  detail?: 'auto' | 'low' | 'high' | 'original';
}

export interface InputFilePart {
  type: 'input_file';
  file_data?: string;
  file_id?: string | null;
  file_url?: string;
  filename?: string;
}

export interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations?: unknown[];
  logprobs?: unknown[];
}

export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}

/** A part type this module does not know (see the NOTE above). */
export interface OtherPart {
  type: string;
  [field: string]: unknown;
}

export type InputPart = InputTextPart | InputImagePart | InputFilePart;
export type AssistantPart = OutputTextPart | RefusalPart;
export type ContentPart = InputPart | AssistantPart | OtherPart;

export type MessageRole = 'user' | 'assistant' | 'system' | 'developer';

/** A message: the "easy" form (`type` absent) or an item; assistant turns carry output parts. */
export interface MessageItem {
  type?: 'message';
  role: MessageRole;
  content: string | ContentPart[];
  id?: string;
  status?: ItemStatus;
}

export interface FunctionCallItem {
  type: 'function_call';
  call_id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
  id?: string;
  status?: ItemStatus;
}

export interface FunctionCallOutputItem {
  type: 'function_call_output';
  call_id: string;
  /** A string, or content parts (text, images, files) for tools that return media. */
  output: string | ContentPart[];
  id?: string;
  status?: ItemStatus;
}

export interface ReasoningItem {
  type: 'reasoning';
  id?: string;
  summary: { type: 'summary_text'; text: string }[];
  encrypted_content?: string | null;
  content?: unknown[];
  status?: ItemStatus;
}

/** An item type this module does not know: a built-in tool's call or output, a reference. */
export interface OtherItem {
  type: string;
  [field: string]: unknown;
}

export type InputItem =
  MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem | OtherItem;

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

// --- Request: tools, choices, formats ---------------------------------------------------

export interface FunctionTool {
  type: 'function';
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

/** A built-in (hosted) tool such as web_search or file_search, or one not known here. */
export interface OtherTool {
  type: string;
  [field: string]: unknown;
}

export type Tool = FunctionTool | OtherTool;

export type ToolChoice =
  | 'auto'
  | 'none'
  | 'required'
  | { type: 'function'; name: string }
  | { type: string; [field: string]: unknown };

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      description?: string;
      strict?: boolean | null;
    };

export interface TextConfig {
  format?: TextFormat;
  verbosity?: 'low' | 'medium' | 'high' | null;
}

export interface ReasoningConfig {
  effort?: string | null;
  summary?: 'auto' | 'concise' | 'detailed' | null;
}

/** A validated request; fields the proxy does not read pass through unnamed. */
export interface ResponsesRequest {
  model: string;
  input: string | InputItem[];
  instructions?: string | null;
  tools?: Tool[] | null;
  tool_choice?: ToolChoice | null;
  text?: TextConfig | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  reasoning?: ReasoningConfig | null;
  parallel_tool_calls?: boolean | null;
  metadata?: Record<string, string> | null;
  /** The API's default is true; parse.ts fills it in. */
  store: boolean;
  previous_response_id?: string | null;
  stream?: boolean | null;
  user?: string | null;
  truncation?: 'auto' | 'disabled' | null;
}

// --- The Response object ----------------------------------------------------------------

export interface OutputMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  status: ItemStatus;
  content: (
    // A translated answer has no citations or logprobs: both are always empty.
    { type: 'output_text'; text: string; annotations: never[]; logprobs: never[] } | RefusalPart
  )[];
}

export interface OutputFunctionCall {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = OutputMessage | OutputFunctionCall;

export interface ResponseUsage {
  input_tokens: number;
  /** Chat usage does not report cache writes: 0 when translated. */
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** Why a response failed, in two of the API's codes: the ones a proxy can tell apart. */
export interface ResponseError {
  code: 'server_error' | 'rate_limit_exceeded';
  message: string;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  /** Unix seconds. */
  created_at: number;
  status: ResponseStatus;
  background: false;
  completed_at: number | null;
  error: ResponseError | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  max_tool_calls: null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number;
  text: { format: TextFormat; verbosity: 'low' | 'medium' | 'high' };
  tool_choice: ToolChoice;
  tools: Tool[];
  top_logprobs: number;
  top_p: number;
  truncation: 'auto' | 'disabled';
  usage: ResponseUsage | null;
  user: string | null;
  metadata: Record<string, string>;
}

// --- Stream events ----------------------------------------------------------------------

/** One event of the typed stream: its `type` is also the SSE `event:` name. */
export interface StreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}
