/**
 * What the real Messages API refuses with a 400 that a lenient fake would accept, so tests
 * through the fake catch a translator that builds requests Anthropic would turn away. Each
 * message is the real API's (as reported by its users), checked in the order it applies them.
 */
import { isRecord } from '../json.js';

const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

const blank = (s: unknown): boolean => typeof s === 'string' && s.trim() === '';

/** Why Anthropic would refuse this body, or undefined if it would take it. */
export function anthropicRequestProblem(body: Record<string, unknown>): string | undefined {
  const turns = body['messages'] as unknown[];
  if (turns.length === 0) return 'messages: at least one message is required';
  if (body['temperature'] != null && body['top_p'] != null) {
    return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.';
  }
  const stops = body['stop_sequences'];
  if (Array.isArray(stops) && stops.some(blank)) {
    return 'stop_sequences: each stop sequence must contain non-whitespace';
  }
  const metadata = body['metadata'];
  const userId = isRecord(metadata) ? metadata['user_id'] : undefined;
  if (typeof userId === 'string' && (userId.length > 256 || userId.includes('@'))) {
    return userId.length > 256
      ? 'metadata.user_id: String should have at most 256 characters'
      : 'metadata.user_id: user_id appears to contain an email address';
  }
  if (blank(body['system'])) return 'system: text content blocks must contain non-whitespace text';
  let toolBlocks = false;
  for (const [i, turn] of turns.entries()) {
    if (!isRecord(turn)) return `messages.${i}: Input should be an object`;
    const content = turn['content'];
    const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
    if (!Array.isArray(blocks) || blocks.length === 0) {
      return `messages.${i}: all messages must have non-empty content`;
    }
    for (const [j, block] of blocks.entries()) {
      if (!isRecord(block)) return `messages.${i}.content.${j}: Input should be an object`;
      const type = block['type'];
      if (type === 'text' && blank(block['text'])) {
        return 'messages: text content blocks must contain non-whitespace text';
      }
      if (type === 'tool_use' || type === 'tool_result') {
        toolBlocks = true;
        const id = type === 'tool_use' ? block['id'] : block['tool_use_id'];
        if (typeof id !== 'string' || !TOOL_ID.test(id)) {
          return `messages.${i}.content.${j}: String should match pattern '^[a-zA-Z0-9_-]+$'`;
        }
      }
    }
    const last = blocks.at(-1) as Record<string, unknown>;
    if (
      i === turns.length - 1 &&
      turn['role'] === 'assistant' &&
      typeof last['text'] === 'string' &&
      last['text'] !== last['text'].trimEnd()
    ) {
      return 'messages: final assistant content cannot end with trailing whitespace';
    }
  }
  const tools = body['tools'];
  if (toolBlocks && !(Array.isArray(tools) && tools.length > 0)) {
    return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
  }
  return undefined;
}
