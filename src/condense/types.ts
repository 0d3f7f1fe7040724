/** The message types the condenser works on: the proxy's own OpenAI wire types. */
import type { ChatMessage } from '../upstream/openai-types.js';

export type {
  ChatContentPart,
  ChatMessage,
  ChatMessageToolCall,
  ChatToolCall,
} from '../upstream/openai-types.js';

/** Counts the prompt tokens of a list of messages (reply priming included). */
export type TokenCount = (messages: readonly ChatMessage[]) => number;
