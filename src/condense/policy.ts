/**
 * What to keep, summarise or drop when a conversation exceeds its model's token budget.
 * Pure functions over messages and a token counter; no I/O.
 *
 * Vocabulary:
 * - the *system prefix*: the leading system/developer messages, always kept verbatim;
 * - a *turn*: one message, or an assistant message with tool_calls together with the tool
 *   results that follow it (or, in the legacy form, a function_call and its `function`
 *   message). Turns are never split: an upstream rejects a tool result whose call is
 *   missing, and a call without its result;
 * - the *tail*: every turn from the last user message on (the last turn if there is no user
 *   message). Without it the model would not see the question it is asked to answer, so
 *   neither summarising nor truncating ever removes it.
 *
 * NOTE: `count` is assumed additive (count(a ++ b) = count(a) + count(b) - count([])), as
 * OpenAI's accounting is; truncation uses that to stay linear in the number of messages.
 */
import type { ChatMessage, TokenCount } from './types.js';

export interface CondensePolicy {
  maxTokens: number;
  /** How many of the latest non-system messages stay verbatim (whole turns, so maybe more). */
  keepRecent: number;
}

export type CondensationPlan =
  | { readonly action: 'none'; readonly tokens: number }
  | {
      readonly action: 'summarize';
      readonly tokens: number;
      readonly system: ChatMessage[];
      readonly older: ChatMessage[];
      readonly recent: ChatMessage[];
    }
  /** Even the system prefix and the tail exceed the budget: no summary can help. */
  | { readonly action: 'too_long'; readonly tokens: number; readonly minimumTokens: number };

export type TruncationResult =
  | { readonly fits: true; readonly messages: ChatMessage[]; readonly dropped: number }
  | { readonly fits: false; readonly tokens: number; readonly minimumTokens: number };

const isSystem = (m: ChatMessage): boolean => m.role === 'system' || m.role === 'developer';
/** `function` is the legacy form of a tool result. */
const isToolResult = (m: ChatMessage): boolean => m.role === 'tool' || m.role === 'function';

interface Shape {
  system: ChatMessage[];
  turns: ChatMessage[][];
  /** Index of the first turn of the tail. */
  tailStart: number;
}

function shape(messages: readonly ChatMessage[]): Shape {
  let i = 0;
  while (i < messages.length && isSystem(messages[i]!)) i++;
  const turns: ChatMessage[][] = [];
  let lastUser = -1;
  for (const m of messages.slice(i)) {
    const last = turns[turns.length - 1];
    // A tool result joins the turn of the call before it (an orphan one joins whatever precedes).
    if (last !== undefined && isToolResult(m)) last.push(m);
    else turns.push([m]);
    if (m.role === 'user') lastUser = turns.length - 1;
  }
  const tailStart = lastUser >= 0 ? lastUser : Math.max(0, turns.length - 1);
  return { system: messages.slice(0, i), turns, tailStart };
}

/**
 * Splits an over-budget conversation into the system prefix, the older turns to summarise
 * and the recent turns kept verbatim: at least `keepRecent` messages and always the tail.
 */
export function planCondensation(
  messages: readonly ChatMessage[],
  { maxTokens, keepRecent }: CondensePolicy,
  count: TokenCount,
): CondensationPlan {
  const tokens = count(messages);
  if (tokens <= maxTokens) return { action: 'none', tokens };
  const { system, turns, tailStart } = shape(messages);
  const minimumTokens = count([...system, ...turns.slice(tailStart).flat()]);
  if (minimumTokens > maxTokens) return { action: 'too_long', tokens, minimumTokens };
  let start = turns.length;
  let kept = 0;
  while (start > 0 && kept < keepRecent) kept += turns[--start]!.length;
  // keepRecent may cover everything: then summarise all before the tail rather than nothing.
  start = Math.min(start, tailStart);
  if (start === 0) start = tailStart;
  if (start === 0) return { action: 'too_long', tokens, minimumTokens };
  return {
    action: 'summarize',
    tokens,
    system,
    older: turns.slice(0, start).flat(),
    recent: turns.slice(start).flat(),
  };
}

/**
 * Drops the oldest turns after the system prefix until the conversation fits, never the
 * tail. Reports `fits: false` (the caller answers 400) when the system prefix and the tail
 * alone exceed the budget.
 */
export function truncateToBudget(
  messages: readonly ChatMessage[],
  maxTokens: number,
  count: TokenCount,
): TruncationResult {
  let tokens = count(messages);
  if (tokens <= maxTokens) return { fits: true, messages: messages.slice(), dropped: 0 };
  const { system, turns, tailStart } = shape(messages);
  const empty = count([]);
  const original = tokens;
  let first = 0;
  let dropped = 0;
  while (tokens > maxTokens && first < tailStart) {
    const turn = turns[first++]!;
    tokens -= count(turn) - empty;
    dropped += turn.length;
  }
  if (tokens > maxTokens) return { fits: false, tokens: original, minimumTokens: tokens };
  return { fits: true, messages: [...system, ...turns.slice(first).flat()], dropped };
}
