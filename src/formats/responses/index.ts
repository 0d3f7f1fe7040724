/**
 * OpenAI's Responses API as a wire format: validate a request, translate it to chat, and
 * translate a chat answer (JSON or stream) back into a Response and its typed events. Pure
 * functions; the route serving POST /v1/responses with them, and the response store, live
 * above this layer.
 */
export { ResponsesRequestError, ResponsesTranslationError } from './errors.js';
export { fromChatCompletion, type FromChatOptions } from './from-chat.js';
export { builtinToolParams, isBuiltinTool, parseResponsesRequest } from './parse.js';
export { randomIds, responseShell, type IdKind, type NewId } from './response.js';
export {
  ResponsesStreamError,
  ResponsesStreamTranslator,
  type ResponsesStreamOptions,
} from './stream.js';
export { toChatRequest, type ToChatOptions } from './to-chat.js';
export type {
  ContentPart,
  FunctionCallItem,
  FunctionCallOutputItem,
  FunctionTool,
  InputItem,
  MessageItem,
  OutputItem,
  ReasoningItem,
  ResponseObject,
  ResponsesRequest,
  ResponseUsage,
  TextFormat,
  Tool,
  ToolChoice,
} from './types.js';
