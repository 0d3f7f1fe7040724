/**
 * Uniform reads of the fields only some kinds of message carry (the wire types are a
 * discriminated union on role), for code that treats every message alike.
 */
import type { ChatMessage, ChatMessageToolCall } from './types.js';

export function nameOf(m: ChatMessage): string | undefined {
  return m.role === 'tool' ? undefined : m.name;
}

export function toolCallIdOf(m: ChatMessage): string | undefined {
  return m.role === 'tool' ? m.tool_call_id : undefined;
}

/** A call an assistant made, whatever its wire form: the tool's name and what it was given. */
export interface CallView {
  /** Absent for the legacy `function_call`, which has none. */
  readonly id: string | undefined;
  readonly name: string;
  /** A function's JSON arguments, a custom tool's free-form input. */
  readonly input: string;
}

/** The calls of an assistant message: its tool calls, then a legacy `function_call`. */
export function callsOf(m: ChatMessage): readonly CallView[] {
  if (m.role !== 'assistant') return [];
  const calls = (m.tool_calls ?? []).map(viewOf);
  const legacy = m.function_call;
  if (legacy != null) calls.push({ id: undefined, name: legacy.name, input: legacy.arguments });
  return calls;
}

function viewOf(call: ChatMessageToolCall): CallView {
  if (call.type === 'function') {
    return { id: call.id, name: call.function.name, input: call.function.arguments };
  }
  if (call.type === 'custom')
    return { id: call.id, name: call.custom.name, input: call.custom.input };
  // A type validation passed on unread (`{id, type: 'x', x: payload}`): its payload as JSON,
  // so it still counts, approximately, and still shows in a transcript.
  const other = call as unknown as { id?: unknown; type: string } & Record<string, unknown>;
  return {
    id: typeof other.id === 'string' ? other.id : undefined,
    name: other.type,
    input: JSON.stringify(other[other.type]) ?? '',
  };
}
