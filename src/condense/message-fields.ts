/**
 * Uniform reads of the fields only some kinds of message carry (the wire types are a
 * discriminated union on role), for code that treats every message alike.
 */
import type { ChatMessage, ChatToolCall } from './types.js';

export function nameOf(m: ChatMessage): string | undefined {
  return m.role === 'tool' ? undefined : m.name;
}

export function toolCallIdOf(m: ChatMessage): string | undefined {
  return m.role === 'tool' ? m.tool_call_id : undefined;
}

export function toolCallsOf(m: ChatMessage): readonly ChatToolCall[] {
  return m.role === 'assistant' ? (m.tool_calls ?? []) : [];
}
