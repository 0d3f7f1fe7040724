/**
 * The built-in demo provider: answers locally and deterministically (JSON and streams), so
 * `npm start` works with no keys and no network. Chaos knobs for demos and drills:
 * latencyMs, failRate, and ignoreAbort, which makes it behave like an adapter that ignores
 * cancellation, so the spawner's leak detection can be seen at work.
 */
import type { DemoProviderConfig, InboundApiName } from '../../config/index.js';
import { sleep } from '../../tasks/index.js';
import type {
  ChatCompletionRequest,
  ChatMessage,
  EmbeddingsRequest,
  Usage,
} from '../../upstream/openai-types.js';
import {
  capturing,
  UpstreamError,
  type CallOptions,
  type CaptureOptions,
  type ChatAnswer,
  type Frame,
  type JsonAnswer,
  type Provider,
  type StreamStats,
} from '../../upstream/index.js';
import { encodeSseData, SSE_DONE } from '../sse.js';
import type { CancelSignal } from '../../tasks/cancellation.js';
import { dimensionsFor, encodeEmbedding, vectorOf } from './embeddings.js';

/** A signal nothing ever aborts: what an adapter that ignores cancellation effectively uses. */
const NEVER = new AbortController().signal;

/** The demo answers in Chat Completions' and Embeddings' formats: other APIs translate to chat. */
const DEMO_APIS: ReadonlySet<InboundApiName> = new Set(['chat', 'embeddings']);

export class DemoProvider implements Provider {
  readonly name: string;
  readonly nativeApis = DEMO_APIS;
  private seq = 0;

  constructor(readonly config: DemoProviderConfig) {
    this.name = config.name;
  }

  async chat(
    req: ChatCompletionRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer> {
    const signal = this.waitSignal(opts.signal);
    await this.delay(signal);
    const text = answerFor(req.messages);
    const usage = usageOf(req.messages, text);
    const id = `chatcmpl-demo-${++this.seq}`;
    const created = Math.floor(Date.now() / 1000);
    if (req.stream !== true) {
      const body = {
        id,
        object: 'chat.completion',
        created,
        model: req.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
      };
      return { kind: 'json', body: JSON.stringify(body), usage };
    }
    const base = { id, object: 'chat.completion.chunk', created, model: req.model };
    const pieces = split(text, this.config.streamChunks);
    const payloads: object[] = [
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { role: 'assistant', content: '' },
            logprobs: null,
            finish_reason: null,
          },
        ],
      },
      ...pieces.map((content) => ({
        ...base,
        choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
      })),
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
    ];
    if (req.stream_options?.include_usage === true) payloads.push({ ...base, choices: [], usage });
    const stats: StreamStats = {
      usage,
      done: false,
      captured: capturing(opts.capture),
    };
    const frames = payloads.map((p) => {
      stats.captured?.push(JSON.stringify(p));
      return encodeSseData(p);
    });
    frames.push(SSE_DONE);
    let i = 1;
    const gap = Math.floor(this.config.latencyMs / Math.max(1, frames.length));
    const rest: AsyncIterator<Frame> = {
      next: async () => {
        if (i >= frames.length) {
          stats.done = true;
          return { done: true, value: undefined };
        }
        if (gap > 0) await sleep(gap, signal);
        if (signal.aborted) throw new UpstreamError('cancelled', 'cancelled');
        return { done: false, value: frames[i++]! };
      },
    };
    return { kind: 'stream', first: frames[0]!, rest, stats, close: () => undefined };
  }

  async embeddings(req: EmbeddingsRequest, opts: CallOptions): Promise<JsonAnswer> {
    const dims = dimensionsFor(req, this.config.embeddingDimensions);
    await this.delay(this.waitSignal(opts.signal));
    const inputs = Array.isArray(req.input) ? req.input : [req.input];
    const data = inputs.map((input, index) => ({
      object: 'embedding',
      index,
      embedding: encodeEmbedding(vectorOf(JSON.stringify(input), dims), req.encoding_format),
    }));
    const tokens = inputs.reduce<number>((n, input) => n + words(JSON.stringify(input)), 0);
    const usage: Usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
    return {
      kind: 'json',
      body: JSON.stringify({ object: 'list', data, model: req.model, usage }),
      usage,
    };
  }

  async probe(opts: CallOptions): Promise<void> {
    if (opts.signal.aborted) throw new UpstreamError('cancelled', 'cancelled');
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private waitSignal(signal: CancelSignal): CancelSignal {
    return this.config.ignoreAbort ? NEVER : signal;
  }

  private async delay(signal: CancelSignal): Promise<void> {
    if (this.config.latencyMs > 0 && !(await sleep(this.config.latencyMs, signal))) {
      throw new UpstreamError('cancelled', 'cancelled');
    }
    if (this.config.failRate > 0 && Math.random() < this.config.failRate) {
      throw new UpstreamError('server_error', 'HTTP 500 (demo failRate)', { status: 500 });
    }
  }
}

function textOf(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => ('text' in p ? p.text : '')).join(' ');
  return '';
}

function answerFor(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const asked = textOf(last).trim().slice(0, 200) || '(empty)';
  return `Demo answer from llm-proxy: you said "${asked}".`;
}

const words = (s: string): number => (s.match(/\S+/g) ?? []).length;

function usageOf(messages: readonly ChatMessage[], answer: string): Usage {
  const prompt = messages.reduce((n, m) => n + words(textOf(m)) + 3, 3);
  const completion = words(answer);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

function split(text: string, n: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
