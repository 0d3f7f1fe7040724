/**
 * Chat completion chunks as the Responses API's typed event stream, one chunk at a time.
 * Pure and synchronous: the caller feeds it parsed chunks and writes out the SSE frames it
 * returns (`event: TYPE\ndata: JSON\n\n`), so the translation is tested without a socket.
 *
 * The events follow OpenAI's reference in its order: response.created, response.in_progress,
 * then per output item output_item.added, (content_part.added, output_text.delta...,
 * output_text.done, content_part.done | function_call_arguments.delta..., .done),
 * output_item.done, and at the end response.completed (or .incomplete, or .failed), each
 * carrying the response, every event numbered by `sequence_number`.
 *
 * NOTE: an item is closed when the next one opens, as the API does (a message before the
 * function calls it leads to, each call before the next). Chat upstreams stream tool calls
 * one after another; a fragment for a call already closed cannot be told to a client that
 * acted on its `.done` event, so it is an upstream fault (ResponsesStreamError), not patched.
 */
import type {
  ChatCompletionChunk,
  ChatToolCallDelta,
  FinishReason,
} from '../../upstream/openai-types.js';
import { finished, outcomeOf, responseShell, toResponseUsage, type NewId } from './response.js';
import type {
  ItemStatus,
  OutputFunctionCall,
  OutputMessage,
  ResponseError,
  ResponseObject,
  ResponsesRequest,
  ResponseUsage,
} from './types.js';

/** The upstream's stream broke the shape a Responses stream can be built from. */
export class ResponsesStreamError extends Error {
  readonly code = 'LLMP_RESPONSES_STREAM';
  override readonly name = 'ResponsesStreamError';
}

export interface ResponsesStreamOptions {
  ids: NewId;
  /** Unix seconds now: `created_at` when the first chunk has none, and `completed_at`. */
  clock: () => number;
}

/** A part of a message's content: filled in place as deltas come (events are JSON at once). */
type Content = OutputMessage['content'][number];
type Part = { index: number; content: Content };
type OpenMessage = { kind: 'message'; index: number; item: OutputMessage; part?: Part };
type OpenCall = { kind: 'call'; index: number; item: OutputFunctionCall };

export class ResponsesStreamTranslator {
  private sequence = 0;
  private shell: ResponseObject | undefined;
  private final: ResponseObject | undefined;
  private readonly output: (OutputMessage | OutputFunctionCall)[] = [];
  private open: OpenMessage | OpenCall | undefined;
  /** Chat tool call index -> its item, open or closed. */
  private readonly calls = new Map<number, OpenCall>();
  private finish: FinishReason | null = null;
  private usage: ResponseUsage | null = null;

  constructor(
    private readonly request: ResponsesRequest,
    private readonly options: ResponsesStreamOptions,
  ) {}

  /** The response as it stands (none before the first event); final once done. */
  get response(): ResponseObject | undefined {
    if (this.final !== undefined || this.shell === undefined) return this.final;
    return { ...this.shell, output: this.output };
  }

  /** True once response.completed, .incomplete or .failed has been written. */
  get done(): boolean {
    return this.final !== undefined;
  }

  /** The frames for one chunk (none once done). */
  push(chunk: ChatCompletionChunk): string[] {
    if (this.done) return [];
    const frames: string[] = [];
    this.started(chunk, frames);
    if (chunk.usage != null) this.usage = toResponseUsage(chunk.usage);
    const choice = chunk.choices.find((c) => c.index === 0);
    if (choice === undefined) return frames;
    const { content, refusal, tool_calls: calls } = choice.delta;
    if (content != null && content !== '') this.text('output_text', content, frames);
    if (refusal != null && refusal !== '') this.text('refusal', refusal, frames);
    for (const call of calls ?? []) this.toolCall(call, frames);
    if (choice.finish_reason != null) {
      this.finish = choice.finish_reason;
      this.close(frames);
    }
    return frames;
  }

  /**
   * The upstream's stream ended: what is open is closed and the response completes (or is
   * incomplete, cut by the token limit or a filter). Ended with no finish reason, the answer
   * was cut off: the response fails.
   */
  end(): string[] {
    if (this.done) return [];
    if (this.finish === null) {
      return this.fail('The upstream stream ended before the answer was finished.');
    }
    const frames: string[] = [];
    const shell = this.started(undefined, frames);
    this.close(frames);
    const outcome = outcomeOf(this.finish);
    this.final = {
      ...finished(shell, outcome, this.usage, this.options.clock()),
      output: this.output,
    };
    const type = outcome.status === 'completed' ? 'response.completed' : 'response.incomplete';
    this.emit(frames, type, { response: this.final });
    return frames;
  }

  /** The upstream failed after the stream began: response.failed, items left incomplete. */
  fail(message: string, code: ResponseError['code'] = 'server_error'): string[] {
    if (this.done) return [];
    const frames: string[] = [];
    const shell = this.started(undefined, frames);
    for (const item of this.output) if (item.status === 'in_progress') item.status = 'incomplete';
    this.final = {
      ...shell,
      status: 'failed',
      error: { code, message },
      output: this.output,
      usage: this.usage,
    };
    this.emit(frames, 'response.failed', { response: this.final });
    return frames;
  }

  /** The shell, announced (created, in_progress) by the first call that needs it. */
  private started(chunk: ChatCompletionChunk | undefined, frames: string[]): ResponseObject {
    if (this.shell !== undefined) return this.shell;
    const model = chunk?.model ?? this.request.model;
    const created = chunk?.created ?? this.options.clock();
    this.shell = responseShell(this.request, this.options.ids('resp'), model, created);
    this.emit(frames, 'response.created', { response: this.shell });
    this.emit(frames, 'response.in_progress', { response: this.shell });
    return this.shell;
  }

  private emit(frames: string[], type: string, fields: Record<string, unknown>): void {
    const event = { type, ...fields, sequence_number: this.sequence++ };
    frames.push(`event: ${type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** A piece of the assistant's text or refusal: into the open message's part of that kind. */
  private text(kind: Content['type'], delta: string, frames: string[]): void {
    const message = this.message(frames);
    if (message.part?.content.type !== kind) {
      this.closePart(message, frames);
      const content: Content =
        kind === 'output_text'
          ? { type: 'output_text', text: '', annotations: [], logprobs: [] }
          : { type: 'refusal', refusal: '' };
      message.part = { index: message.item.content.length, content };
      message.item.content.push(content);
      this.emit(frames, 'response.content_part.added', {
        ...this.at(message),
        content_index: message.part.index,
        part: content,
      });
    }
    const { index, content } = message.part;
    const where = { ...this.at(message), content_index: index, delta };
    if (content.type === 'output_text') {
      content.text += delta;
      this.emit(frames, 'response.output_text.delta', { ...where, logprobs: [] });
    } else {
      content.refusal += delta;
      this.emit(frames, 'response.refusal.delta', where);
    }
  }

  /** The open message item, opened (after closing any other item) if need be. */
  private message(frames: string[]): OpenMessage {
    if (this.open?.kind === 'message') return this.open;
    this.closeItem(frames, 'completed');
    const item: OutputMessage = {
      id: this.options.ids('msg'),
      type: 'message',
      role: 'assistant',
      status: 'in_progress',
      content: [],
    };
    const message: OpenMessage = { kind: 'message', index: this.output.length, item };
    this.output.push(item);
    this.open = message;
    this.emit(frames, 'response.output_item.added', { output_index: message.index, item });
    return message;
  }

  private toolCall(delta: ChatToolCallDelta, frames: string[]): void {
    let call = this.calls.get(delta.index);
    if (call === undefined) {
      this.closeItem(frames, 'completed');
      const item: OutputFunctionCall = {
        id: this.options.ids('fc'),
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: delta.id ?? '',
        name: delta.function?.name ?? '',
      };
      call = { kind: 'call', index: this.output.length, item };
      this.calls.set(delta.index, call);
      this.output.push(item);
      this.open = call;
      this.emit(frames, 'response.output_item.added', { output_index: call.index, item });
    } else if (call !== this.open) {
      throw new ResponsesStreamError(
        `the upstream streamed more of tool call ${delta.index} after the next one had begun`,
      );
    } else if (delta.function?.name !== undefined && call.item.name === '') {
      call.item.name = delta.function.name;
    }
    const piece = delta.function?.arguments;
    if (piece === undefined || piece === '') return;
    call.item.arguments += piece;
    this.emit(frames, 'response.function_call_arguments.delta', { ...this.at(call), delta: piece });
  }

  private at(open: OpenMessage | OpenCall): { item_id: string; output_index: number } {
    return { item_id: open.item.id, output_index: open.index };
  }

  private closePart(message: OpenMessage, frames: string[]): void {
    const part = message.part;
    if (part === undefined) return;
    const where = { ...this.at(message), content_index: part.index };
    const { content } = part;
    if (content.type === 'output_text') {
      this.emit(frames, 'response.output_text.done', {
        ...where,
        text: content.text,
        logprobs: [],
      });
    } else {
      this.emit(frames, 'response.refusal.done', { ...where, refusal: content.refusal });
    }
    this.emit(frames, 'response.content_part.done', { ...where, part: content });
    delete message.part;
  }

  /** Closes the open item: the finish reason (when known) says how it ended. */
  private close(frames: string[]): void {
    const outcome = outcomeOf(this.finish);
    this.closeItem(frames, outcome.status === 'completed' ? 'completed' : 'incomplete');
  }

  private closeItem(frames: string[], status: ItemStatus): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    if (open.kind === 'message') this.closePart(open, frames);
    else {
      this.emit(frames, 'response.function_call_arguments.done', {
        ...this.at(open),
        name: open.item.name,
        arguments: open.item.arguments,
      });
    }
    open.item.status = status;
    this.emit(frames, 'response.output_item.done', { output_index: open.index, item: open.item });
  }
}
