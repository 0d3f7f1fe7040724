/**
 * Chat completion chunks as the Messages API's event stream, one chunk at a time. Pure and
 * synchronous: the route feeds it the parsed chunks it relays and writes the SSE frames it
 * returns (`event: NAME\ndata: JSON\n\n`), so the translation is tested without a socket.
 *
 * Anthropic streams one content block at a time (start, deltas, stop), numbered by position
 * in the final `content`; chat streams reasoning, text and tool calls as fields of one delta,
 * tool calls numbered among themselves. Reasoning, text and refusal text close the block
 * before them and open a new one. Tool calls are keyed by their chat index, so an upstream
 * that interleaves the argument pieces of two calls still yields whole tool_use blocks:
 *
 * NOTE: a tool block can only be closed once its call is whole, which chat never announces.
 * The first call streams live; a piece of another call is held back until the open call's
 * arguments parse as a complete JSON object (then it is done: nothing valid can follow) or
 * the answer finishes. Sequential upstreams (OpenAI's) so stream every call live, and
 * interleaving ones lose liveness, not correctness. Closing on the first piece of the next
 * call instead would cut a call whose pieces come back later.
 */
import type { ChatCompletionChunk, ChatToolCallDelta, Usage } from '../../upstream/openai-types.js';
import { errorEventFrame, MessagesFormatError } from './errors.js';
import {
  fromChatUsage,
  matchedStop,
  messageId,
  reasoningText,
  stopReason,
  toolUseId,
} from './from-chat.js';
import type { AnthropicContentBlock, AnthropicStreamEvent, AnthropicUsage } from './types.js';

export interface MessagesStreamOptions {
  /** The model name the client asked for, echoed in `message_start`. */
  model: string;
  /** The request's `stop_sequences`, to tell a matched one from a natural end. */
  stopSequences?: readonly string[] | undefined;
  /** The request enabled thinking: the upstream's reasoning streams as thinking blocks. */
  thinking?: boolean | undefined;
  /** The proxy's count of the prompt, for `message_start` (chat reports usage only last). */
  inputTokens?: number | undefined;
}

/** One tool call of the chat stream, by its chat index. */
interface ToolCall {
  id: string;
  name: string;
  /** Arguments not yet written (all of them while the call waits for its turn). */
  pending: string;
  /** All arguments received, to tell when the call is whole. */
  args: string;
  state: 'waiting' | 'open' | 'closed';
}

type Open = { kind: 'text' | 'thinking' } | { kind: 'tool'; call: ToolCall };

export class MessagesStreamEncoder {
  private started = false;
  private finished = false;
  private id = 'msg_';
  private block = -1;
  private open: Open | undefined;
  private readonly calls = new Map<number, ToolCall>();
  private finish: string | null = null;
  private matched: string | null = null;
  private refused = false;
  private usage: Usage | undefined;

  constructor(private readonly opts: MessagesStreamOptions) {}

  /** The frames for one parsed chat chunk. */
  push(chunk: ChatCompletionChunk): string[] {
    if (this.finished) return [];
    const out = this.start(chunk.id);
    if (chunk.usage != null) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (choice === undefined) return out;
    const delta = choice.delta;
    const reasoning = this.opts.thinking === true ? reasoningText(delta) : '';
    if (reasoning !== '') out.push(...this.text('thinking', reasoning));
    if (delta.content != null && delta.content !== '')
      out.push(...this.text('text', delta.content));
    if (delta.refusal != null && delta.refusal !== '') {
      this.refused = true;
      out.push(...this.text('text', delta.refusal));
    }
    for (const piece of delta.tool_calls ?? []) out.push(...this.toolPiece(piece));
    if (choice.finish_reason != null) {
      this.finish = choice.finish_reason;
      this.matched = matchedStop(choice, this.opts.stopSequences);
      out.push(...this.closeAll());
    }
    return out;
  }

  /** The closing frames once the chat stream ended (`[DONE]`): message_delta, message_stop. */
  end(): string[] {
    if (this.finished) return [];
    const out = [...this.start(undefined), ...this.closeAll()];
    this.finished = true;
    const stop = stopReason(this.finish, {
      matched: this.matched,
      toolCalls: this.calls.size > 0,
      refused: this.refused,
    });
    // Without the upstream's counts, only what is known: message_delta may omit input.
    const usage: Partial<AnthropicUsage> =
      this.usage !== undefined ? fromChatUsage(this.usage) : { output_tokens: 0 };
    out.push(
      frame({
        type: 'message_delta',
        delta: { stop_reason: stop.reason, stop_sequence: stop.sequence },
        usage,
      }),
      frame({ type: 'message_stop' }),
    );
    return out;
  }

  /** The `error` event for a failure after the stream began; nothing follows it. */
  fail(status: number, message: string): string[] {
    if (this.finished) return [];
    this.finished = true;
    return [errorEventFrame(status, message)];
  }

  private start(chatId: string | undefined): string[] {
    if (this.started) return [];
    this.started = true;
    if (chatId !== undefined) this.id = messageId(chatId);
    return [
      frame({
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: this.opts.inputTokens ?? 0, output_tokens: 0 },
        },
      }),
    ];
  }

  /** Text or thinking: continues the open block of that kind, or closes it and opens one. */
  private text(kind: 'text' | 'thinking', piece: string): string[] {
    const out: string[] = [];
    if (this.open?.kind !== kind) {
      out.push(...this.closeAll());
      const block: AnthropicContentBlock =
        kind === 'text'
          ? { type: 'text', text: '' }
          : { type: 'thinking', thinking: '', signature: '' };
      out.push(this.startBlock(block));
      this.open = { kind };
    }
    out.push(
      frame({
        type: 'content_block_delta',
        index: this.block,
        delta:
          kind === 'text'
            ? { type: 'text_delta', text: piece }
            : { type: 'thinking_delta', thinking: piece },
      }),
    );
    return out;
  }

  private toolPiece(piece: ChatToolCallDelta): string[] {
    let call = this.calls.get(piece.index);
    if (call === undefined) {
      call = { id: piece.id ?? '', name: '', pending: '', args: '', state: 'waiting' };
      this.calls.set(piece.index, call);
    }
    // Some servers repeat the id and name on every piece: the first ones count.
    if (piece.id !== undefined && call.id === '') call.id = piece.id;
    if (piece.function?.name !== undefined && call.name === '') call.name = piece.function.name;
    const args = piece.function?.arguments ?? '';
    call.args += args;
    if (call.state === 'closed') {
      if (args.trim() === '') return [];
      throw new MessagesFormatError(
        502,
        `the upstream sent more arguments for tool call ${piece.index} (${call.name}) after it ended`,
      );
    }
    if (call.state === 'open') {
      // The open call may just have become whole: a waiting one can go live.
      return args === '' ? [] : [this.argsFrame(args), ...this.advance()];
    }
    call.pending += args;
    return this.advance();
  }

  /** Opens the next waiting call when nothing holds the stream, or the open call is whole. */
  private advance(): string[] {
    const out: string[] = [];
    for (const call of this.calls.values()) {
      if (call.state !== 'waiting') continue;
      const open = this.open;
      if (open?.kind === 'tool' && !isWholeObject(open.call.args)) break;
      out.push(...this.closeOpen(), ...this.openTool(call));
    }
    return out;
  }

  private openTool(call: ToolCall): string[] {
    call.state = 'open';
    this.open = { kind: 'tool', call };
    const id = call.id !== '' ? call.id : toolUseId(this.id, this.block + 1);
    const out = [this.startBlock({ type: 'tool_use', id, name: call.name, input: {} })];
    if (call.pending !== '') out.push(this.argsFrame(call.pending));
    call.pending = '';
    return out;
  }

  private argsFrame(partial: string): string {
    return frame({
      type: 'content_block_delta',
      index: this.block,
      delta: { type: 'input_json_delta', partial_json: partial },
    });
  }

  private startBlock(block: AnthropicContentBlock): string {
    this.block += 1;
    return frame({ type: 'content_block_start', index: this.block, content_block: block });
  }

  private closeOpen(): string[] {
    const open = this.open;
    if (open === undefined) return [];
    if (open.kind === 'tool') open.call.state = 'closed';
    this.open = undefined;
    return [frame({ type: 'content_block_stop', index: this.block })];
  }

  /** Closes the open block, then writes every waiting call whole. */
  private closeAll(): string[] {
    const out = this.closeOpen();
    for (const call of this.calls.values()) {
      if (call.state === 'waiting') out.push(...this.openTool(call), ...this.closeOpen());
    }
    return out;
  }
}

/** True when `args` is a whole JSON object: no piece of valid JSON can follow it. */
function isWholeObject(args: string): boolean {
  if (!args.trimEnd().endsWith('}')) return false;
  try {
    const value: unknown = JSON.parse(args);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function frame(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
