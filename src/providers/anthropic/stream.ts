/**
 * Anthropic's streamed Messages events as OpenAI chat.completion.chunk objects, one event at
 * a time. Pure and synchronous: the adapter feeds it what SseParser yields and writes out
 * what it returns, so the translation is tested without a socket.
 *
 * OpenAI numbers streamed tool calls 0, 1, ... among tool calls only, while Anthropic's
 * block index also counts text and thinking blocks; the translator keeps the mapping.
 */
import type {
  ChatCompletionChunk,
  ChatCompletionDelta,
  FinishReason,
  Usage,
} from '../../upstream/openai-types.js';
import { toFinishReason, toUsage } from './response.js';
import type { AnthropicStreamEvent, AnthropicUsage } from './types.js';

/** The upstream failed mid-stream: an Anthropic `error` event, or an event that is not JSON. */
export class UpstreamStreamError extends Error {
  readonly code = 'LLMP_UPSTREAM_STREAM';
  override readonly name = 'UpstreamStreamError';
  constructor(
    /**
     * Anthropic's error type (`overloaded_error`, ...; `unknown_error` for one not documented)
     * or `invalid_event` for bad data. Safe to show; the message is the upstream's text.
     */
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Anthropic's documented error types. An error event's type is shown to the client ("stream
 * error (overloaded_error)") and logged, so any other value, which is text the upstream wrote
 * and could be an echoed key, is reported as `unknown_error`.
 */
const ERROR_TYPES: ReadonlySet<unknown> = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'timeout_error',
  'api_error',
  'overloaded_error',
]);

/** An `error` event's type as Anthropic documents it; `unknown_error` for any other value. */
export function knownErrorType(type: unknown): string {
  return ERROR_TYPES.has(type) ? (type as string) : 'unknown_error';
}

export interface AnthropicStreamTranslatorOptions {
  /** The model name the client asked for, echoed in every chunk. */
  model: string;
  /** The client sent `stream_options.include_usage`: end with a usage-only chunk. */
  includeUsage: boolean;
  /** Epoch milliseconds for `created`; defaults to Date.now() at construction. */
  now?: number;
  /** The forced tool carrying a JSON answer (json-format.ts): streamed as content. */
  jsonTool?: string | undefined;
}

export class AnthropicStreamTranslator {
  private readonly model: string;
  private readonly includeUsage: boolean;
  private readonly created: number;
  private id = 'chatcmpl-';
  private counts: AnthropicUsage | undefined = undefined;
  /** Anthropic content block index -> OpenAI tool call index. */
  private readonly toolIndex = new Map<number, number>();
  /** Tool calls (OpenAI index) whose arguments have had a piece streamed. */
  private readonly toolArgs = new Set<number>();
  private finished = false;
  private readonly jsonTool: string | undefined;
  private jsonText = false;
  /** The Anthropic block index of the JSON answer's tool call, once it started. */
  private jsonBlock: number | undefined;

  constructor(opts: AnthropicStreamTranslatorOptions) {
    this.model = opts.model;
    this.includeUsage = opts.includeUsage;
    this.jsonTool = opts.jsonTool;
    this.created = Math.floor((opts.now ?? Date.now()) / 1000);
  }

  /** True once `message_stop` arrived; later events are ignored. */
  get done(): boolean {
    return this.finished;
  }

  /** Token counts so far: input from `message_start`, output from the last `message_delta`. */
  get usage(): Usage | undefined {
    return this.counts === undefined ? undefined : toUsage(this.counts);
  }

  /** Translates one SSE event; throws UpstreamStreamError on an `error` event. */
  push(ev: { event?: string; data: string }): ChatCompletionChunk[] {
    if (this.finished) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(ev.data);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new UpstreamStreamError('invalid_event', `upstream sent a non-JSON-object event`);
    }
    const data = parsed as AnthropicStreamEvent;
    try {
      return this.translateEvent(data);
    } catch (err) {
      if (err instanceof UpstreamStreamError) throw err;
      // A JSON event without the fields its type promises (a TypeError on access).
      throw new UpstreamStreamError(
        'invalid_event',
        `upstream sent a malformed ${String(data.type)} event`,
      );
    }
  }

  private translateEvent(data: AnthropicStreamEvent): ChatCompletionChunk[] {
    switch (data.type) {
      case 'message_start':
        this.id = `chatcmpl-${data.message.id}`;
        this.counts = { ...data.message.usage };
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'content_block_start': {
        const block = data.content_block;
        if (block.type === 'text' && block.text !== '') {
          return [this.chunk({ content: block.text })];
        }
        if (block.type !== 'tool_use') return [];
        if (block.name === this.jsonTool && this.jsonBlock === undefined) {
          this.jsonBlock = data.index;
          return [];
        }
        const index = this.toolIndex.size;
        this.toolIndex.set(data.index, index);
        const fn = { name: block.name, arguments: '' };
        return [
          this.chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: fn }] }),
        ];
      }
      case 'content_block_delta': {
        const delta = data.delta;
        if (delta.type === 'text_delta') return [this.chunk({ content: delta.text })];
        if (delta.type !== 'input_json_delta' || delta.partial_json === '') return [];
        if (data.index === this.jsonBlock) {
          this.jsonText = true;
          return [this.chunk({ content: delta.partial_json })];
        }
        const index = this.toolIndex.get(data.index);
        if (index === undefined) return [];
        this.toolArgs.add(index);
        return [
          this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }),
        ];
      }
      case 'content_block_stop': {
        if (data.index === this.jsonBlock && !this.jsonText) {
          this.jsonText = true;
          return [this.chunk({ content: '{}' })];
        }
        // A tool without parameters streams no JSON at all: its arguments are "{}", as in a
        // non-streamed answer, not "" (which JSON.parse, as clients do, refuses).
        const index = this.toolIndex.get(data.index);
        if (index === undefined || this.toolArgs.has(index)) return [];
        this.toolArgs.add(index);
        return [this.chunk({ tool_calls: [{ index, function: { arguments: '{}' } }] })];
      }
      case 'message_delta': {
        this.recordUsage(data.usage);
        // A JSON answer ends with the forced tool's call: a normal stop, not tool_calls.
        const stop = data.delta.stop_reason;
        const json = this.jsonBlock !== undefined && stop === 'tool_use';
        return [this.chunk({}, toFinishReason(json ? 'end_turn' : stop))];
      }
      case 'message_stop': {
        this.finished = true;
        const usage = this.usage;
        if (!this.includeUsage || usage === undefined) return [];
        return [{ ...this.envelope(), choices: [], usage }];
      }
      case 'error':
        throw new UpstreamStreamError(knownErrorType(data.error.type), data.error.message);
      default: // ping, and event types newer than this code
        return [];
    }
  }

  /** message_delta counts are cumulative, and only the ones present are meant to change. */
  private recordUsage(usage: Partial<AnthropicUsage> | undefined): void {
    if (usage === undefined) return;
    const counts = this.counts ?? { input_tokens: 0, output_tokens: 0 };
    for (const key of Object.keys(usage) as (keyof AnthropicUsage)[]) {
      const value = usage[key];
      if (typeof value === 'number') counts[key] = value;
    }
    this.counts = counts;
  }

  private envelope(): Omit<ChatCompletionChunk, 'choices'> {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
    };
  }

  private chunk(
    delta: ChatCompletionDelta,
    finishReason: FinishReason | null = null,
  ): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = {
      ...this.envelope(),
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
    // OpenAI marks every chunk but the last `usage: null` when usage was asked for.
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }
}
