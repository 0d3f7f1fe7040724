/**
 * When the fake calls a tool, in both wire formats: only when the request's tool choice asks
 * for one (OpenAI `required` or a named function; Anthropic `any` or `tool`), or under
 * `auto` when the last user turn asks for a tool (says "tool" or names one) and the last
 * message is not a tool's result. After a tool result it answers in text, so an agent loop
 * (call, result, answer) ends as it does against a real model.
 */
import { mentionsTool } from './content.js';

/** A request's tool choice, whatever its format spelled. */
export type ToolChoice =
  | { readonly kind: 'none' }
  | { readonly kind: 'auto' }
  | { readonly kind: 'required' }
  | { readonly kind: 'named'; readonly name: string };

export interface ToolTurn {
  readonly choice: ToolChoice;
  /** The names of the tools the request declares, in order. */
  readonly tools: readonly string[];
  /** The last message is a tool's result (OpenAI role `tool`, Anthropic `tool_result`). */
  readonly afterToolResult: boolean;
  /** The text of the last user turn. */
  readonly userText: string;
}

/** The tool to call this turn, or undefined for a text answer. */
export function toolToCall({
  choice,
  tools,
  afterToolResult,
  userText,
}: ToolTurn): string | undefined {
  switch (choice.kind) {
    case 'none':
      return undefined;
    case 'named':
      return choice.name;
    case 'required':
      return pick(tools, userText);
    case 'auto':
      if (afterToolResult || !(mentionsTool(userText) || named(tools, userText) !== undefined)) {
        return undefined;
      }
      return pick(tools, userText);
  }
}

/** The tool the user's text names, else the first one declared. */
function pick(tools: readonly string[], userText: string): string | undefined {
  return named(tools, userText) ?? tools[0];
}

function named(tools: readonly string[], userText: string): string | undefined {
  return tools.find((name) => new RegExp(`\\b${escaped(name)}\\b`).test(userText));
}

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
