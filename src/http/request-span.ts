/**
 * The server span of a proxied request (OTel HTTP + GenAI semantic conventions). It is the
 * parent of the request's task span, whose children are the fallback attempts, so one trace
 * shows every task a request spawned. The incoming W3C traceparent, if any, is its parent.
 */
import type { IncomingMessage } from 'node:http';
import {
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Usage } from '../providers/openai-types.js';

export interface RequestSpan {
  readonly span: Span;
  readonly context: Context;
  readonly traceId: string;
}

export function startRequestSpan(tracer: Tracer, req: IncomingMessage, route: string): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const method = req.method ?? 'GET';
  const span = tracer.startSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span), traceId: span.spanContext().traceId };
}

export function endRequestSpan(s: RequestSpan, status: number): void {
  s.span.setAttribute('http.response.status_code', status);
  if (status >= 500) s.span.setStatus({ code: SpanStatusCode.ERROR });
  s.span.end();
}

/** GenAI attributes: what was asked, who answered, what it cost. */
export function genAiRequest(
  span: Span | undefined,
  operation: 'chat' | 'embeddings',
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
