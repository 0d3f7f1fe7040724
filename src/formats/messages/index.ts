/**
 * Anthropic's Messages API as a wire format: validate a request, translate it to chat, and
 * translate a chat answer (JSON or stream) and errors back. Pure functions; the route that
 * serves POST /v1/messages with them lives in http/.
 */
export {
  anthropicErrorBody,
  anthropicErrorType,
  errorEventFrame,
  invalidRequest,
  MessagesFormatError,
} from './errors.js';
export {
  fromChatCompletion,
  fromChatUsage,
  messageId,
  stopReason,
  type FromChatOptions,
} from './from-chat.js';
export {
  parseCountTokensRequest,
  parseMessagesRequest,
  type CountTokensRequest,
  type MessagesRequest,
} from './parse.js';
export { MessagesStreamEncoder, type MessagesStreamOptions } from './stream.js';
export {
  reasoningEffort,
  toChatRequest,
  type ChatRequestFromMessages,
  type ReasoningEffort,
} from './to-chat.js';
export type {
  AnthropicContentBlock,
  AnthropicContentBlockParam,
  AnthropicErrorBody,
  AnthropicErrorType,
  AnthropicMessage,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicStopReason,
  AnthropicStreamEvent,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicUsage,
} from './types.js';
