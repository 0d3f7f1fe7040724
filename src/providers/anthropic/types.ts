/**
 * The Messages API wire types the adapter translates to and from. They live with the
 * inbound format (src/formats/messages/types.ts), which serves the same API to clients, so
 * both directions read one definition.
 */

export const ANTHROPIC_VERSION = '2023-06-01';

export type {
  AnthropicContentBlock,
  AnthropicContentBlockParam,
  AnthropicErrorBody,
  AnthropicImageBlock,
  AnthropicImageSource,
  AnthropicMessage,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicStopReason,
  AnthropicStreamDelta,
  AnthropicStreamEvent,
  AnthropicTextBlock,
  AnthropicThinkingBlock,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
  AnthropicUsage,
} from '../../formats/messages/types.js';
