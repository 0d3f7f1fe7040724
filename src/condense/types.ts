/** The message types the condenser works on: the proxy's own OpenAI wire types. */
import type { ChatMessage } from '../providers/openai-types.js';

export type {
  ChatContentPart,
  ChatMessage,
  ChatMessageToolCall,
  ChatToolCall,
} from '../providers/openai-types.js';

/** Counts the prompt tokens of a list of messages (reply priming included). */
export type TokenCount = (messages: readonly ChatMessage[]) => number;
