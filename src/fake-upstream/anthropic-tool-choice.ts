/**
 * The Messages API's side of when the fake calls a tool (tool-choice.ts): its `tool_choice`
 * (`auto`, `any`, `tool` with a name, `none`), its tools by name, and a last user turn that
 * carries a `tool_result`. Refuses, as the real API does, a forcing choice without tools.
 */
import { lastUserText } from './content.js';
import { toolToCall, type ToolChoice } from './tool-choice.js';
import { isRecord } from '../json.js';

/** The tool this turn calls (undefined: a text answer), or the real API's refusal. */
export type ToolDecision = { readonly tool: string | undefined } | { readonly problem: string };

export function anthropicToolDecision(
  body: Record<string, unknown>,
  turns: readonly unknown[],
): ToolDecision {
  const tools = toolNames(body['tools']);
  const choice = choiceOf(body['tool_choice']);
  if (choice === undefined) {
    return {
      problem:
        "tool_choice: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
    };
  }
  if ((choice.kind === 'required' || choice.kind === 'named') && tools.length === 0) {
    return { problem: 'tool_choice may only be specified while providing tools.' };
  }
  if (choice.kind === 'named' && !tools.includes(choice.name)) {
    return { problem: `tool_choice.name: tool '${choice.name}' is not one of the provided tools` };
  }
  const userText = lastUserText(turns);
  return {
    tool: toolToCall({ choice, tools, afterToolResult: endsWithToolResult(turns), userText }),
  };
}

function toolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool) =>
    isRecord(tool) && typeof tool['name'] === 'string' ? [tool['name']] : [],
  );
}

function choiceOf(raw: unknown): ToolChoice | undefined {
  if (raw === undefined || raw === null) return { kind: 'auto' };
  if (!isRecord(raw)) return undefined;
  switch (raw['type']) {
    case 'auto':
      return { kind: 'auto' };
    case 'none':
      return { kind: 'none' };
    case 'any':
      return { kind: 'required' };
    case 'tool':
      return typeof raw['name'] === 'string' ? { kind: 'named', name: raw['name'] } : undefined;
    default:
      return undefined;
  }
}

/** The last turn is the user's and carries a tool_result block. */
function endsWithToolResult(turns: readonly unknown[]): boolean {
  const last: unknown = turns.at(-1);
  if (!isRecord(last) || last['role'] !== 'user' || !Array.isArray(last['content'])) return false;
  return last['content'].some((block) => isRecord(block) && block['type'] === 'tool_result');
}
