/**
 * What the summariser model is asked, and how its answer goes back into the conversation.
 * The older messages are sent as one transcript in a user message rather than as chat turns:
 * replayed as turns, the summariser would answer the last question instead of summarising.
 */
import { callsOf } from './message-fields.js';
import type { ChatContentPart, ChatMessage } from './types.js';

export const SUMMARIZER_SYSTEM_PROMPT = [
  'You summarise the earlier part of a conversation between a user and an AI assistant so the',
  'assistant can continue it without the full transcript.',
  'Write a faithful, concise summary: keep every fact, decision, constraint, name, number,',
  'code identifier and open question that later turns may depend on, and what tools were',
  'called with which results. Do not invent anything, do not answer or continue the',
  'conversation, and do not address the user. Write in the language of the conversation.',
].join(' ');

export const SUMMARY_PREFIX = 'Summary of the earlier conversation: ';

function partText(part: ChatContentPart): string {
  // NOTE: a part type the wire types don't list may arrive: only the default reads it.
  switch (part.type) {
    case 'text':
      return part.text;
    case 'refusal':
      return `[refused: ${part.refusal}]`;
    case 'image_url':
      return '[image]';
    case 'input_audio':
      return '[audio]';
    case 'file':
      return part.file.filename === undefined ? '[file]' : `[file ${part.file.filename}]`;
    default:
      return `[${(part as { type: string }).type}]`;
  }
}

function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return content.map(partText).join('\n');
}

function speaker(m: ChatMessage): string {
  if (m.role === 'tool') return `tool result (${m.tool_call_id})`;
  if (m.role === 'function') return `function result (${m.name})`;
  return m.name === undefined ? m.role : `${m.role} (${m.name})`;
}

/** The older messages as a plain-text transcript, one block per message. */
export function renderTranscript(messages: readonly ChatMessage[]): string {
  const blocks: string[] = [];
  for (const m of messages) {
    const text = contentText(m.content);
    if (text !== '') blocks.push(`${speaker(m)}: ${text}`);
    for (const call of callsOf(m)) {
      const id = call.id === undefined ? '' : ` (${call.id})`;
      blocks.push(`${speaker(m)} called tool ${call.name}${id} with ${call.input}`);
    }
  }
  return blocks.join('\n\n');
}

/** The request sent to the summariser model. */
export function summarizerMessages(older: readonly ChatMessage[]): ChatMessage[] {
  return [
    { role: 'system', content: SUMMARIZER_SYSTEM_PROMPT },
    {
      role: 'user',
      content: `Summarise this conversation transcript.\n\n<transcript>\n${renderTranscript(older)}\n</transcript>`,
    },
  ];
}

/** The message that stands in for the summarised messages. */
export function summaryMessage(summary: string): ChatMessage {
  return { role: 'system', content: `${SUMMARY_PREFIX}${summary.trim()}` };
}
