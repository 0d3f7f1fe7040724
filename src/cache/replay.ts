/**
 * A cached answer serves both shapes of the same request: a stream stored as its chunks
 * replays as SSE (or is assembled into one completion), and a stored completion can be
 * replayed as a short stream. Pure functions over the OpenAI wire format.
 */
import { isRecord } from '../json.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatToolCall,
} from '../providers/openai-types.js';

/** A completion as stream chunks: role, content, tool calls, finish (and usage). */
export function chunksFromCompletion(body: string, includeUsage: boolean): string[] {
  return completionAsChunks(JSON.parse(body) as ChatCompletion, includeUsage);
}

function completionAsChunks(c: ChatCompletion, includeUsage: boolean): string[] {
  const base = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model };
  const out: object[] = [];
  for (const choice of c.choices) {
    const { index, message } = choice;
    out.push({
      ...base,
      choices: [
        { index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      ],
    });
    if (typeof message.content === 'string' && message.content !== '') {
      out.push({
        ...base,
        choices: [
          { index, delta: { content: message.content }, logprobs: null, finish_reason: null },
        ],
      });
    }
    if (message.tool_calls !== undefined && message.tool_calls.length > 0) {
      const tool_calls = message.tool_calls.map((t, i) => ({ index: i, ...t }));
      out.push({
        ...base,
        choices: [{ index, delta: { tool_calls }, logprobs: null, finish_reason: null }],
      });
    }
    out.push({
      ...base,
      choices: [{ index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }],
    });
  }
  if (includeUsage && c.usage !== undefined) out.push({ ...base, choices: [], usage: c.usage });
  return out.map((o) => JSON.stringify(o));
}

/** Stream chunks assembled into the completion a non-streaming request would have got. */
export function completionFromChunks(chunks: readonly string[]): string {
  return chunksAsCompletion(chunks.map((raw) => JSON.parse(raw) as ChatCompletionChunk));
}

function chunksAsCompletion(chunks: readonly ChatCompletionChunk[]): string {
  let head: Pick<ChatCompletionChunk, 'id' | 'created' | 'model'> | undefined;
  const choices = new Map<
    number,
    { content: string; tools: ChatToolCall[]; finish: string | null }
  >();
  let usage: ChatCompletion['usage'];
  for (const chunk of chunks) {
    head ??= chunk;
    if (chunk.usage != null) usage = chunk.usage;
    for (const ch of chunk.choices) {
      const acc = choices.get(ch.index) ?? { content: '', tools: [], finish: null };
      choices.set(ch.index, acc);
      if (typeof ch.delta.content === 'string') acc.content += ch.delta.content;
      for (const t of ch.delta.tool_calls ?? []) {
        const slot = (acc.tools[t.index] ??= {
          id: '',
          type: 'function',
          function: { name: '', arguments: '' },
        });
        if (t.id !== undefined) slot.id = t.id;
        if (t.function?.name !== undefined) slot.function.name += t.function.name;
        if (t.function?.arguments !== undefined) slot.function.arguments += t.function.arguments;
      }
      if (ch.finish_reason != null) acc.finish = ch.finish_reason;
    }
  }
  const completion = {
    id: head?.id ?? 'chatcmpl-cached',
    object: 'chat.completion',
    created: head?.created ?? Math.floor(Date.now() / 1000),
    model: head?.model ?? '',
    choices: [...choices.entries()].map(([index, acc]) => ({
      index,
      message: {
        role: 'assistant',
        content: acc.tools.length > 0 && acc.content === '' ? null : acc.content,
        refusal: null,
        ...(acc.tools.length > 0 ? { tool_calls: acc.tools } : {}),
      },
      logprobs: null,
      finish_reason: acc.finish ?? 'stop',
    })),
    ...(usage === undefined ? {} : { usage }),
  };
  return JSON.stringify(completion);
}

/**
 * Whether a stored answer replays in both shapes: a completion whose choices carry messages,
 * or stream chunks that are all chunk objects (usage-only ones included). The cache stores
 * nothing else, so a provider's malformed answer is passed on once, never replayed as an
 * error for the whole lifetime of its entry.
 */
export function replayable(answer: { body?: string; chunks?: readonly string[] }): boolean {
  try {
    if (answer.body !== undefined) {
      const c = JSON.parse(answer.body) as unknown;
      if (!isRecord(c) || !Array.isArray(c.choices) || c.choices.length === 0) return false;
      if (!c.choices.every((ch) => isRecord(ch) && isRecord(ch.message))) return false;
      completionAsChunks(c as unknown as ChatCompletion, true);
      return true;
    }
    const chunks = (answer.chunks ?? []).map((raw) => JSON.parse(raw) as unknown);
    if (chunks.length === 0) return false;
    for (const chunk of chunks) {
      if (!isRecord(chunk) || !Array.isArray(chunk.choices)) return false;
      if (!chunk.choices.every((ch) => isRecord(ch) && isRecord(ch.delta))) return false;
    }
    chunksAsCompletion(chunks as ChatCompletionChunk[]);
    return true;
  } catch {
    return false;
  }
}
