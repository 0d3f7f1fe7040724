/**
 * Any OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp, Groq, ...): requests and
 * answers pass through in the same wire format; streams are forwarded byte for byte.
 */
import type { InboundApiName, OpenAIProviderConfig } from '../../config/index.js';
import { isRecord } from '../../json.js';
import { UpstreamClient } from '../http-client.js';
import { passThrough } from '../native.js';
import { openAiStream } from '../openai-stream.js';
import type {
  ChatCompletion,
  ChatCompletionRequest,
  EmbeddingsRequest,
} from '../../upstream/openai-types.js';
import {
  UpstreamError,
  type CallOptions,
  type CaptureOptions,
  type ChatAnswer,
  type JsonAnswer,
  type NativeRequest,
  type Provider,
} from '../../upstream/index.js';

export class OpenAIProvider implements Provider {
  readonly name: string;
  readonly nativeApis: ReadonlySet<InboundApiName>;
  private readonly client: UpstreamClient;

  constructor(readonly config: OpenAIProviderConfig) {
    this.name = config.name;
    this.nativeApis = new Set(config.nativeApis);
    this.client = new UpstreamClient({
      baseUrl: config.baseUrl,
      headers: {
        ...(config.headers ?? {}),
        ...(config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` }),
      },
      connections: config.maxConnections,
      timeoutMs: config.timeoutMs,
    });
  }

  async chat(
    req: ChatCompletionRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer> {
    const call = {
      method: 'POST',
      path: '/chat/completions',
      body: opts.bodyText ?? JSON.stringify(req),
      signal: opts.signal,
      otelContext: opts.otelContext,
    } as const;
    if (req.stream === true) {
      return openAiStream(await this.client.stream(call), opts.signal, opts.capture);
    }
    const text = await this.client.text(call);
    const completion = parseJson<ChatCompletion>(text);
    // A 200 that is no completion is the provider's failure (fail over), not an answer; so is
    // a choice that is not an object (`[null]`), which the SDKs would fail to read.
    if (!Array.isArray(completion.choices))
      throw new UpstreamError('invalid_response', 'answer without choices from provider');
    if (!completion.choices.every(isRecord))
      throw new UpstreamError('invalid_response', 'answer with a malformed choice from provider');
    return { kind: 'json', body: text, usage: completion.usage };
  }

  async embeddings(req: EmbeddingsRequest, opts: CallOptions): Promise<JsonAnswer> {
    const { text, value } = await this.client.json({
      method: 'POST',
      path: '/embeddings',
      body: JSON.stringify(req),
      signal: opts.signal,
      otelContext: opts.otelContext,
    });
    if (!Array.isArray((value as { data?: unknown } | null)?.data))
      throw new UpstreamError('invalid_response', 'embeddings answer without data from provider');
    return { kind: 'json', body: text, usage: (value as ChatCompletion).usage };
  }

  native(
    req: NativeRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer> {
    return passThrough(this.client, req, opts);
  }

  probe(opts: CallOptions): Promise<void> {
    return this.client.probe(this.config.probe, '/chat/completions', opts.signal);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function parseJson<T>(text: string): Partial<T> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object') return v;
  } catch {
    // fall through
  }
  throw new UpstreamError('invalid_response', 'invalid JSON from provider');
}
