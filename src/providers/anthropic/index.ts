/**
 * Anthropic's Messages API behind the Chat Completions interface: requests and answers are
 * translated (system prompt, tools, stop reasons, usage), and streamed events are
 * re-encoded as OpenAI chunks as each one arrives.
 */
import type { AnthropicProviderConfig } from '../../config/index.js';
import { UpstreamClient } from '../http-client.js';
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../upstream/openai-types.js';
import {
  capturing,
  toUpstreamError,
  UpstreamError,
  type CallOptions,
  type CaptureOptions,
  type ChatAnswer,
  type Frame,
  type JsonAnswer,
  type Provider,
  type StreamStats,
} from '../../upstream/index.js';
import { encodeSseData, SSE_DONE, SseParser } from '../sse.js';
import { AnthropicStreamTranslator, UpstreamStreamError } from './stream.js';
import { JSON_TOOL } from './json-format.js';
import { fromAnthropicResponse } from './response.js';
import { toAnthropicRequest, TranslationError } from './translate.js';
import type { AnthropicMessage, AnthropicMessagesRequest } from './types.js';

export class AnthropicProvider implements Provider {
  readonly name: string;
  private readonly client: UpstreamClient;

  constructor(readonly config: AnthropicProviderConfig) {
    this.name = config.name;
    this.client = new UpstreamClient({
      baseUrl: config.baseUrl,
      headers: {
        ...(config.headers ?? {}),
        'anthropic-version': config.anthropicVersion,
        ...(config.apiKey === undefined ? {} : { 'x-api-key': config.apiKey }),
      },
      connections: config.maxConnections,
      timeoutMs: config.timeoutMs,
    });
  }

  async chat(
    req: ChatCompletionRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer> {
    let request: AnthropicMessagesRequest;
    try {
      request = toAnthropicRequest(req, {
        model: req.model,
        maxTokensDefault: this.config.maxTokensDefault,
      });
    } catch (err) {
      if (err instanceof TranslationError) {
        throw new UpstreamError('client_error', err.message, {
          status: 400,
          clientError: {
            message: err.message,
            type: 'invalid_request_error',
            param: err.param,
            code: 'unsupported_parameter',
          },
        });
      }
      throw err;
    }
    // The translation forces the JSON tool when the client asked for JSON (and then refuses
    // tools of the client's own, so a forced tool of that name is ours).
    const choice = request.tool_choice;
    const jsonTool =
      req.response_format != null && choice?.type === 'tool' && choice.name === JSON_TOOL
        ? JSON_TOOL
        : undefined;
    const call = {
      method: 'POST',
      path: '/messages',
      body: JSON.stringify(request),
      signal: opts.signal,
      otelContext: opts.otelContext,
    } as const;
    if (req.stream !== true) {
      const text = await this.client.text(call);
      let message: AnthropicMessage;
      try {
        message = JSON.parse(text) as AnthropicMessage;
        if (!Array.isArray(message.content)) throw new SyntaxError('no content');
      } catch {
        throw new UpstreamError('invalid_response', 'invalid JSON from provider');
      }
      const completion = fromAnthropicResponse(message, req.model, Date.now(), jsonTool);
      return { kind: 'json', body: JSON.stringify(completion), usage: completion.usage };
    }

    const translator = new AnthropicStreamTranslator({
      model: req.model,
      includeUsage: req.stream_options?.include_usage === true,
      jsonTool,
    });
    const parser = new SseParser();
    const stats: StreamStats = {
      usage: undefined,
      done: false,
      captured: capturing(opts.capture),
    };
    const iterator = await this.client.stream(call);
    const close = (): void => iterator.close();
    let ended = false;
    // Translates the next upstream chunk into zero or more OpenAI frames (joined into one).
    const pull = async (): Promise<Frame | undefined> => {
      for (;;) {
        if (ended) return undefined;
        let next: IteratorResult<Buffer, undefined>;
        try {
          next = await iterator.next();
        } catch (err) {
          close();
          throw toUpstreamError(err, opts.signal);
        }
        const events = next.done === true ? parser.end() : parser.push(next.value);
        let out = '';
        try {
          for (const ev of events) {
            for (const chunk of translator.push(ev)) {
              const data = JSON.stringify(chunk);
              stats.captured?.push(data);
              out += encodeSseData(chunk);
            }
          }
        } catch (err) {
          close();
          if (err instanceof UpstreamStreamError)
            throw new UpstreamError('server_error', `stream error (${err.errorType})`);
          throw new UpstreamError('invalid_response', 'invalid stream event from provider');
        }
        if (translator.done && !stats.done) {
          stats.done = true;
          stats.usage = translator.usage;
          out += SSE_DONE;
          ended = true;
        }
        if (next.done === true) ended = true;
        if (out !== '') return out;
      }
    };
    let first: Frame | undefined;
    try {
      first = await pull();
    } catch (err) {
      close();
      throw err;
    }
    if (first === undefined) {
      close();
      throw new UpstreamError('invalid_response', 'stream ended before any event');
    }
    const rest: AsyncIterator<Frame> = {
      next: async () => {
        const frame = await pull();
        return frame === undefined
          ? { done: true, value: undefined }
          : { done: false, value: frame };
      },
    };
    return { kind: 'stream', first, rest, stats, close };
  }

  embeddings(_req: EmbeddingsRequest, _opts: CallOptions): Promise<JsonAnswer> {
    const message = `provider ${this.name} (anthropic) has no embeddings API`;
    return Promise.reject(
      new UpstreamError('client_error', message, {
        status: 400,
        clientError: {
          message,
          type: 'invalid_request_error',
          param: 'model',
          code: 'unsupported_model',
        },
      }),
    );
  }

  probe(opts: CallOptions): Promise<void> {
    return this.client.probe(this.config.probe, '/messages', opts.signal);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
