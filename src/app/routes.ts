/**
 * Route mounting: the proxied API (chat, embeddings, models) through the per-request task,
 * the ops routes, and the answers for what matches no route (404, or 405 naming the methods
 * a known path takes) or throws.
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Hono } from 'hono';
import type { Config } from '../config/index.js';
import { errors } from '../http/errors.js';
import { answerFailure, exchangeOf } from '../http/exchange.js';
import {
  onHono,
  proxiedNodeRoute,
  proxiedRoute,
  type ProxyHandler,
  type ProxyRequestDeps,
} from '../http/proxy-request.js';
import type { DirectRoute, DirectRoutes } from '../http/server.js';
import type { InboundApi } from '../http/inbound/api.js';
import { inboundHandler, type PipelineDeps } from '../http/inbound/pipeline.js';
import { chatCompletionsApi } from '../http/routes/chat.js';
import { completionsApi } from '../http/routes/completions.js';
import { countTokensApi, messagesApi } from '../http/routes/messages/index.js';
import {
  deleteResponse,
  getResponse,
  listInputItems,
  responsesApi,
} from '../http/routes/responses/index.js';
import type { ResponseStore } from '../cache/response-store.js';
import { embeddingsApi } from '../http/routes/embeddings.js';
import { modelResponse, modelsResponse } from '../http/routes/models.js';
import { mountOps } from '../http/routes/ops.js';
import { corsMiddleware } from '../http/cors.js';
import type { ErrorShape } from '../http/respond.js';
import type { Route } from '../telemetry/proxy-metrics.js';
import type { ChatAnswer } from '../upstream/index.js';
import type { Components } from './components.js';
import type { AppState, DrainSummary } from './drain.js';
import { allowedMethods, errorShapeOf } from './unmatched.js';

export type AppHono = Hono<{ Bindings: HttpBindings }>;

/** What the routes read of the app's lifecycle. */
export interface Lifecycle {
  state(): AppState;
  drain(): Promise<DrainSummary>;
}

/**
 * Mounts every route on `hono`; returns the hot ones the server may also serve directly on the
 * Node pair (see DirectRoutes in http/server.ts): none while CORS must run on them.
 */
export function mountRoutes(
  hono: AppHono,
  config: Config,
  parts: Components,
  lifecycle: Lifecycle,
): DirectRoutes {
  const cors = config.server.cors.origins.length > 0;
  if (cors) hono.use('/v1/*', corsMiddleware(config.server.cors.origins));
  const proxied = mountProxied(hono, config, parts, lifecycle);
  mountOps(hono, {
    registry: parts.registry,
    supervisor: parts.supervisor,
    metrics: parts.metrics,
    logger: parts.logger,
    adminToken: config.auth.adminToken,
    metricsToken: config.auth.metricsToken,
    readiness: () => lifecycle.state(),
    watchdog: config.server.watchdog,
    drain: () => lifecycle.drain(),
  });
  // What matches no route, and what throws outside one, answer through an Exchange too,
  // under the route label 'other', in the shape of the API the path is under (unmatched.ts).
  hono.notFound((c) => {
    const { path } = c.req;
    const ex = exchangeOf('other', c, parts.metrics, errorShapeOf(path));
    // A known path asked with another method is a 405 naming the right ones, not a 404.
    const allow = allowedMethods(hono.routes, path);
    ex.error(
      allow.length > 0 ? errors.methodNotAllowed(c.req.method, path, allow) : errors.notFound(path),
    );
    ex.done();
    return RESPONSE_ALREADY_SENT;
  });
  hono.onError((err, c) => answerFailure(exchangeOf('other', c, parts.metrics), err, parts.logger));
  return cors ? new Map() : proxied;
}

/**
 * The client API: each route runs as a request task (auth, limits, timeout, metrics). Returns
 * the POST routes, also to be served directly.
 */
function mountProxied(
  hono: AppHono,
  config: Config,
  parts: Components,
  lifecycle: Lifecycle,
): DirectRoutes {
  const { providers } = parts;
  const proxyDeps: ProxyRequestDeps = {
    scope: parts.httpScope,
    metrics: parts.metrics,
    logger: parts.logger,
    keys: parts.keys,
    gate: {
      accepting: () => {
        const state = lifecycle.state();
        return state === 'ready' || state === 'starting';
      },
    },
    tracer: parts.tracer,
    requestTimeoutMs: config.server.requestTimeoutMs,
    bodyLimitBytes: config.server.bodyLimitBytes,
    admission: parts.admission,
  };
  if (parts.rateLimit !== undefined) proxyDeps.rateLimit = parts.rateLimit;
  // Every inbound API shares one pipeline: adding an API is its InboundApi and a route line.
  const pipeline: PipelineDeps = {
    engine: parts.engine,
    metrics: parts.metrics,
    cache: parts.cache,
    cacheNonDeterministic: config.cache.cacheNonDeterministic,
    cacheScope: config.cache.scope,
    condenser: parts.condensation?.condenser,
  };
  const proxied = (route: Route, handler: ProxyHandler, errorShape?: ErrorShape) =>
    proxiedRoute(proxyDeps, route, handler, errorShape);
  const api = <Req, A extends ChatAnswer>(inbound: InboundApi<Req, A>) =>
    inboundHandler(pipeline, inbound);
  // The hot routes are also served by the server straight on the Node pair (DirectRoutes).
  const direct = new Map<string, DirectRoute>();
  const post = <Req, A extends ChatAnswer>(route: Route, inbound: InboundApi<Req, A>) => {
    const serve = proxiedNodeRoute(proxyDeps, route, api(inbound));
    direct.set(route, { method: 'POST', serve });
    hono.post(route, onHono(serve));
  };
  post('/v1/chat/completions', chatCompletionsApi);
  post('/v1/embeddings', embeddingsApi);
  hono.post('/v1/completions', proxied('/v1/completions', api(completionsApi)));
  hono.post('/v1/responses', proxied('/v1/responses', api(responsesApi(parts.responseStore))));
  mountStoredResponses(hono, proxied, parts.responseStore);
  hono.post('/v1/messages', proxied('/v1/messages', api(messagesApi), 'anthropic'));
  hono.post(
    '/v1/messages/count_tokens',
    proxied('/v1/messages/count_tokens', api(countTokensApi), 'anthropic'),
  );
  hono.get(
    '/v1/models',
    proxied('/v1/models', (_ctx, ex) => {
      modelsResponse(ex, providers);
      return Promise.resolve();
    }),
  );
  // Ids may hold slashes (org/model), sent encoded by the SDK or not; one route label for both.
  // NOTE: a handler per request here, closing over the id: a rare route, not the hot path.
  hono.get('/v1/models/:id{.+}', (c) =>
    proxied('/v1/models', (_ctx, ex) => {
      modelResponse(ex, providers, c.req.param('id'));
      return Promise.resolve();
    })(c),
  );
  return direct;
}

type Proxied = (route: Route, handler: ProxyHandler) => ReturnType<typeof proxiedRoute>;

/**
 * The stored responses' routes, one route label for the three (ids are unbounded).
 * NOTE: a handler per request, closing over the id: rare routes, not the hot path.
 */
function mountStoredResponses(hono: AppHono, proxied: Proxied, store: ResponseStore): void {
  const route = '/v1/responses/{id}';
  hono.get('/v1/responses/:id/input_items', (c) =>
    proxied(route, (_ctx, ex) =>
      listInputItems(store, ex, c.req.param('id'), new URL(c.req.url).searchParams),
    )(c),
  );
  hono.get('/v1/responses/:id', (c) =>
    proxied(route, (_ctx, ex) => getResponse(store, ex, c.req.param('id')))(c),
  );
  hono.delete('/v1/responses/:id', (c) =>
    proxied(route, (_ctx, ex) => deleteResponse(store, ex, c.req.param('id')))(c),
  );
}
