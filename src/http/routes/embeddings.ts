/** POST /v1/embeddings: validated, cached (embeddings are deterministic), routed, answered. */
import { cacheDecision, responseCacheKey } from '../../cache/index.js';
import type { JsonAnswer } from '../../upstream/index.js';
import type { TaskContext } from '../../tasks/index.js';
import { parseJsonObject } from '../body.js';
import { errors } from '../errors.js';
import type { RequestIO } from '../proxy-request.js';
import { sendJson, type ExtraHeaders } from '../respond.js';
import { genAiRequest, genAiResponse } from '../request-span.js';
import { parseEmbeddingsRequest } from '../validate.js';
import { cacheScope, recordUsage, type ChatDeps } from './chat.js';
import { merged } from '../../objects.js';

export function embeddingsHandler(deps: ChatDeps) {
  return async function embeddings(ctx: TaskContext, io: RequestIO): Promise<void> {
    const { value: raw, text } = parseJsonObject(io.body, io.req.headers['content-type']);
    const body = parseEmbeddingsRequest(raw);
    if (!deps.engine.serves(body.model)) throw errors.unknownModel(body.model);
    genAiRequest(io.span, 'embeddings', { model: body.model });
    const headers: ExtraHeaders = { 'x-llm-proxy-cache': 'bypass' };
    let key: string | undefined;
    if (deps.cache !== undefined) {
      const cc = io.req.headers['cache-control'];
      const decision = cacheDecision({
        body: raw,
        headers: typeof cc === 'string' ? { cacheControl: cc } : {},
        cacheNonDeterministic: deps.cacheNonDeterministic,
        kind: 'embeddings',
      });
      if (decision === 'lookup') {
        headers['x-llm-proxy-cache'] = 'miss';
        key = responseCacheKey('embeddings', raw, { text, scope: cacheScope(deps, io) });
        const hit = await deps.cache.get(key);
        if (hit?.answer.body !== undefined) {
          sendJson(
            io.res,
            200,
            hit.answer.body,
            merged(headers, {
              'x-llm-proxy-cache': 'hit',
              'x-llm-proxy-provider': hit.answer.provider,
            }),
          );
          return;
        }
      }
    }
    const waitStart = performance.now();
    const win = await deps.engine.run<JsonAnswer>(ctx, body.model, (p, signal, otelContext) =>
      p.embeddings(body, { signal, otelContext }),
    );
    io.upstreamMs += performance.now() - waitStart;
    sendJson(
      io.res,
      200,
      win.answer.body,
      merged(headers, { 'x-llm-proxy-provider': win.provider }),
    );
    await win.release();
    recordUsage(deps.metrics, win.provider, win.answer.usage);
    io.provider = win.provider;
    genAiResponse(io.span, deps.engine.provider(win.provider), body.model, win.answer.usage);
    if (key !== undefined)
      deps.cache?.set(key, { provider: win.provider, body: win.answer.body, storedAt: Date.now() });
  };
}
