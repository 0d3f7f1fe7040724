/**
 * Anthropic's Messages API behind the Chat Completions interface: requests and answers are
 * translated (system prompt, tools, stop reasons, usage), and streamed events are
 * re-encoded as OpenAI chunks as each one arrives.
 */
import type { AnthropicProviderConfig, InboundApiName } from '../../config/index.js';
import { UpstreamClient } from '../http-client.js';
import { passThrough } from '../native.js';
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../upstream/openai-types.js';
import {
  requestRefused,
  UpstreamError,
  type CallOptions,
  type CaptureOptions,
  type ChatAnswer,
  type JsonAnswer,
  type NativeRequest,
  type Provider,
} from '../../upstream/index.js';
import { AnthropicStreamTranslator } from './stream.js';
import { anthropicStreamAnswer } from './stream-answer.js';
import { JSON_TOOL } from './json-format.js';
import { fromAnthropicResponse } from './response.js';
import { toAnthropicRequest, TranslationError } from './translate.js';
import type { AnthropicMessage, AnthropicMessagesRequest } from './types.js';

export class AnthropicProvider implements Provider {
  readonly name: string;
  readonly nativeApis: ReadonlySet<InboundApiName>;
  private readonly client: UpstreamClient;

  constructor(readonly config: AnthropicProviderConfig) {
    this.name = config.name;
    this.nativeApis = new Set(config.nativeApis);
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
    const request = this.translate(req);
    const jsonTool = forcedJsonTool(req, request);
    const call = {
      method: 'POST',
      path: '/messages',
      body: JSON.stringify(request),
      signal: opts.signal,
      otelContext: opts.otelContext,
    } as const;
    if (req.stream !== true) return jsonAnswer(await this.client.text(call), req.model, jsonTool);
    const translator = new AnthropicStreamTranslator({
      model: req.model,
      includeUsage: req.stream_options?.include_usage === true,
      jsonTool,
    });
    return anthropicStreamAnswer(await this.client.stream(call), translator, opts);
  }

  /** The Messages request for a chat call; one it cannot express is the client's error (400). */
  private translate(req: ChatCompletionRequest): AnthropicMessagesRequest {
    try {
      return toAnthropicRequest(req, {
        model: req.model,
        maxTokensDefault: this.config.maxTokensDefault,
      });
    } catch (err) {
      if (err instanceof TranslationError) throw requestRefused(err.message, err.param);
      throw err;
    }
  }

  embeddings(_req: EmbeddingsRequest, _opts: CallOptions): Promise<JsonAnswer> {
    const message = `provider ${this.name} (anthropic) has no embeddings API`;
    return Promise.reject(requestRefused(message, 'model', 'unsupported_model'));
  }

  /** A Messages request passed through, with the client's anthropic-version/-beta headers. */
  native(
    req: NativeRequest,
    opts: CallOptions & { capture?: CaptureOptions | undefined },
  ): Promise<ChatAnswer> {
    return passThrough(this.client, req, opts);
  }

  probe(opts: CallOptions): Promise<void> {
    return this.client.probe(this.config.probe, '/messages', opts.signal);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * The translation forces the JSON tool when the client asked for JSON (and then refuses
 * tools of the client's own, so a forced tool of that name is ours).
 */
function forcedJsonTool(
  req: ChatCompletionRequest,
  request: AnthropicMessagesRequest,
): string | undefined {
  const choice = request.tool_choice;
  return req.response_format != null && choice?.type === 'tool' && choice.name === JSON_TOOL
    ? JSON_TOOL
    : undefined;
}

/** A whole Messages answer as a chat completion; one that is not a message is invalid. */
function jsonAnswer(text: string, model: string, jsonTool: string | undefined): JsonAnswer {
  let message: AnthropicMessage;
  try {
    message = JSON.parse(text) as AnthropicMessage;
    if (!Array.isArray(message.content)) throw new SyntaxError('no content');
  } catch {
    throw new UpstreamError('invalid_response', 'invalid JSON from provider');
  }
  const completion = fromAnthropicResponse(message, model, Date.now(), jsonTool);
  return { kind: 'json', body: JSON.stringify(completion), usage: completion.usage };
}
