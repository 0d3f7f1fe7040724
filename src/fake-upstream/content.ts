/**
 * Deterministic answers shared by both wire formats: the echo text, its chunking, token
 * counts (whitespace words: cheap, stable, and good enough for accounting tests) and
 * embeddings hashed from the input. Same request in, same bytes out.
 */
import { isRecord } from '../json.js';

export const TOOL_ARGUMENTS = '{"q":"x"}';
/** The tool-call arguments as streamed: two pieces that only parse once joined. */
export const TOOL_ARGUMENT_PIECES: readonly string[] = ['{"q":', '"x"}'];
export const EMBEDDING_DIMENSIONS = 8;

/**
 * The text of a message's content in either format: a string, or content parts/blocks whose
 * `text` is taken (OpenAI text parts, Anthropic text blocks) and whose tool_result content is
 * read recursively. Anything else (images, tool_use) contributes nothing.
 */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isRecord(part)) {
      if (typeof part['text'] === 'string') parts.push(part['text']);
      else if (part['type'] === 'tool_result') parts.push(textOf(part['content']));
    }
  }
  return parts.filter((p) => p.length > 0).join(' ');
}

/** The text of the last message with role 'user' ('' when there is none). */
export function lastUserText(messages: readonly unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (isRecord(message) && message['role'] === 'user') return textOf(message['content']);
  }
  return '';
}

/** Every message's text, for prompt token counts. */
export function allText(messages: readonly unknown[]): string {
  return messages.map((m) => (isRecord(m) ? textOf(m['content']) : '')).join(' ');
}

export function answerText(userText: string): string {
  const trimmed = userText.trim();
  return `echo: ${trimmed.length > 0 ? trimmed : '(empty)'}`;
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

/**
 * `text` cut into exactly `n` pieces of near-equal length (by code point, so no surrogate is
 * split); pieces are empty when the text is shorter than `n`.
 */
export function splitInto(text: string, n: number): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * chars.length) / n);
    const end = Math.floor(((i + 1) * chars.length) / n);
    pieces.push(chars.slice(start, end).join(''));
  }
  return pieces;
}

/** True when the text has the word "tool" (whole word, any case). */
export function mentionsTool(text: string): boolean {
  return /\btool\b/i.test(text);
}

/** FNV-1a over UTF-16 code units: a stable 32-bit hash with no dependencies. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A unit-length vector of `dimensions` floats derived from a hash of the text. */
export function embeddingOf(text: string, dimensions = EMBEDDING_DIMENSIONS): number[] {
  let state = fnv1a(text);
  const raw: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    // xorshift32 steps from the hash: different texts land on different vectors.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    raw.push(state / 2147483648 - 1);
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => Number((v / norm).toFixed(6)));
}
