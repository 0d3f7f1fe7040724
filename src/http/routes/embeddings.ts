/**
 * POST /v1/embeddings, OpenAI's Embeddings API: its parser and responder. Through the shared
 * pipeline: validated, cached (embeddings are deterministic), routed, answered as JSON.
 */
import type { EmbeddingsRequest } from '../../upstream/openai-types.js';
import type { JsonAnswer } from '../../upstream/index.js';
import type { InboundApi } from '../inbound/api.js';
import { parseEmbeddingsRequest } from '../validate.js';

export const embeddingsApi: InboundApi<EmbeddingsRequest, JsonAnswer> = {
  operation: 'embeddings',
  cacheKind: 'embeddings',
  parse: parseEmbeddingsRequest,
  model: (request) => request.model,
  streams: () => false,
  spanFields: (request) => ({ model: request.model }),
  condensable: () => undefined,
  send: (provider, call, signal, otelContext) =>
    provider.embeddings(call.request, { signal, otelContext }),
  respond: {
    json: (call, _provider, answer) => call.ex.json(200, answer.body, call.headers),
    stream: () => Promise.reject(new Error('embeddings are never streamed')),
    // Embeddings are stored as the JSON body they were answered with.
    replay: (call, cached, headers) => {
      if (cached.body === undefined) return Promise.resolve(false);
      call.ex.json(200, cached.body, headers);
      return Promise.resolve(true);
    },
  },
};
