/**
 * The server span of a proxied request (OTel HTTP + GenAI semantic conventions) is the
 * request task's own span; its children are the fallback attempts' spans, so one trace shows
 * every task a request spawned. The incoming W3C traceparent, if any, is its parent.
 */
import type { IncomingMessage } from 'node:http';
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { Usage } from '../upstream/openai-types.js';
import type { SpawnOptions } from '../tasks/index.js';

/**
 * Spawn options that make the request task's own span the SERVER span: one span per request
 * (the task's), named and attributed per the HTTP conventions, child of the caller's
 * traceparent if one came in.
 */
export function serverSpan(req: IncomingMessage, route: string): SpawnOptions {
  const method = req.method ?? 'GET';
  return {
    context: propagation.extract(ROOT_CONTEXT, req.headers),
    span: {
      name: `${method} ${route}`,
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route },
    },
  };
}

export function finishServerSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}

/** `gen_ai.operation.name` values (OTel GenAI semantic conventions) of the inbound APIs. */
export type GenAiOperation = 'chat' | 'embeddings' | 'text_completion';

/** GenAI attributes: what was asked, who answered, what it cost. */
export function genAiRequest(
  span: Span | undefined,
  operation: GenAiOperation,
  body: { model: string; temperature?: number | null; max_tokens?: number | null },
): void {
  if (span === undefined) return;
  const attrs: Attributes = {
    'gen_ai.operation.name': operation,
    'gen_ai.request.model': body.model,
  };
  if (typeof body.temperature === 'number') attrs['gen_ai.request.temperature'] = body.temperature;
  if (typeof body.max_tokens === 'number') attrs['gen_ai.request.max_tokens'] = body.max_tokens;
  span.setAttributes(attrs);
}

export function genAiResponse(
  span: Span | undefined,
  provider: { name: string; type: string },
  model: string,
  usage: Usage | undefined,
): void {
  if (span === undefined) return;
  const attrs: Attributes = {
    'gen_ai.system': provider.type,
    'gen_ai.provider.name': provider.type,
    'gen_ai.response.model': model,
    'llm_proxy.provider': provider.name,
  };
  if (usage != null) {
    attrs['gen_ai.usage.input_tokens'] = usage.prompt_tokens;
    attrs['gen_ai.usage.output_tokens'] = usage.completion_tokens;
  }
  span.setAttributes(attrs);
}
