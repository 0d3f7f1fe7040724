/**
 * The OpenAI wire format this proxy speaks to clients (and to OpenAI-compatible upstreams):
 * Chat Completions, Embeddings and the Model list. Plain types, no runtime code: request
 * bodies are validated at the HTTP edge; these describe what has already passed.
 *
 * Fields the OpenAI SDK sends as `null` are typed `| null` so a real client's body fits;
 * responses carry the always-present `null`s (`refusal`, `logprobs`) so they also fit the
 * SDK's own response types.
 *
 * NOTE: the request unions are not exhaustive. Validation passes on, in any role, content
 * parts, tools and tool calls of types the proxy does not know (OpenAI's `{type: 'x', x: ...}`
 * convention, see src/http/validate.ts), and known part types in roles these types do not
 * list (a refusal part in an assistant's content). Code that reads parts, tools or tool
 * calls must check `type` and cope with the rest: count it approximately, skip it, or refuse
 * it with a 400 naming the param; never read a field it has not checked for.
 */

/** `function` is the legacy form of `tool`, still accepted by OpenAI. */
export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface ChatContentPartText {
  type: 'text';
  text: string;
}

export interface ChatContentPartImage {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}

export interface ChatContentPartInputAudio {
  type: 'input_audio';
  /** `data` is base64; `format` is 'wav' or 'mp3' today. */
  input_audio: { data: string; format: string };
}

export interface ChatContentPartFile {
  type: 'file';
  file: { file_data?: string; file_id?: string; filename?: string };
}

/** A refusal the model gave, replayed in an assistant message's content. */
export interface ChatContentPartRefusal {
  type: 'refusal';
  refusal: string;
}

/** Every content part type the proxy knows (see the NOTE above about the others). */
export type ChatContentPart =
  | ChatContentPartText
  | ChatContentPartImage
  | ChatContentPartInputAudio
  | ChatContentPartFile
  | ChatContentPartRefusal;

/** `system` and `developer` are the same thing to every provider but OpenAI's newest models. */
export interface ChatSystemMessage {
  role: 'system' | 'developer';
  content: string | ChatContentPartText[];
  name?: string;
}

export interface ChatUserMessage {
  role: 'user';
  content: string | ChatContentPart[];
  name?: string;
}

/** A function tool call: the only kind a completion from this proxy carries. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A call of a custom tool (free-form `input`, no JSON arguments). */
export interface ChatCustomToolCall {
  id: string;
  type: 'custom';
  custom: { name: string; input: string };
}

/** A tool call in a request's history. */
export type ChatMessageToolCall = ChatToolCall | ChatCustomToolCall;

export interface ChatAssistantMessage {
  role: 'assistant';
  content?: string | ChatContentPartText[] | null;
  name?: string;
  tool_calls?: ChatMessageToolCall[];
  /** The legacy form of one tool call, answered by a `function` message. */
  function_call?: { name: string; arguments: string } | null;
  refusal?: string | null;
}

export interface ChatToolMessage {
  role: 'tool';
  content: string | ChatContentPartText[];
  tool_call_id: string;
}

/** The legacy form of a tool result: the result of the assistant's `function_call`. */
export interface ChatFunctionMessage {
  role: 'function';
  content?: string | null;
  name: string;
}

export type ChatMessage =
  | ChatSystemMessage
  | ChatUserMessage
  | ChatAssistantMessage
  | ChatToolMessage
  | ChatFunctionMessage;

export interface ChatFunctionDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  /** Structured Outputs for the arguments; absent means the API's default (off, in chat). */
  strict?: boolean | null;
}

export interface ChatFunctionTool {
  type: 'function';
  function: ChatFunctionDefinition;
}

/** A tool called with free-form text, optionally constrained by a grammar `format`. */
export interface ChatCustomTool {
  type: 'custom';
  custom: { name: string; description?: string; format?: Record<string, unknown> };
}

export type ChatTool = ChatFunctionTool | ChatCustomTool;

export type ChatToolChoice =
  'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
      };
    };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[] | null;
  tool_choice?: ChatToolChoice | null;
  /** Legacy forms of `tools` and `tool_choice`, forwarded as they are. */
  functions?: ChatFunctionDefinition[] | null;
  function_call?: 'none' | 'auto' | { name: string } | null;
  parallel_tool_calls?: boolean;
  temperature?: number | null;
  top_p?: number | null;
  /** Deprecated by OpenAI in favour of `max_completion_tokens`; both are accepted. */
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  /** Reasoning models only: how hard to think ('minimal' ... 'high'; newer models add more). */
  reasoning_effort?: string | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  n?: number | null;
  seed?: number | null;
  user?: string;
  response_format?: ResponseFormat;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  tool_calls?: ChatToolCall[];
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  finish_reason: FinishReason;
  logprobs: null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  /** Unix seconds. */
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage?: Usage;
  system_fingerprint?: string;
}

/** A streamed tool call fragment: `id`, `type` and `name` arrive once, `arguments` in pieces. */
export interface ChatToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionDelta {
  role?: 'assistant';
  content?: string | null;
  refusal?: string | null;
  tool_calls?: ChatToolCallDelta[];
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionDelta;
  finish_reason: FinishReason | null;
  logprobs?: null;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  /** Unix seconds; the same on every chunk of one completion. */
  created: number;
  model: string;
  /** Empty on the final usage-only chunk (`stream_options.include_usage`). */
  choices: ChatCompletionChunkChoice[];
  /** `null` on every chunk but the last when usage was asked for, absent otherwise. */
  usage?: Usage | null;
  system_fingerprint?: string;
}

/** Optional fields a client sent as `null` are absent here: validation drops them. */
export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

export interface Embedding {
  object: 'embedding';
  index: number;
  /** A base64 string of little-endian float32s when `encoding_format` is `base64`. */
  embedding: number[] | string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface Model {
  id: string;
  object: 'model';
  /** Unix seconds. */
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: 'list';
  data: Model[];
}

/** The error body every non-2xx answer carries. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
