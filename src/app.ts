/**
 * The composition root: `createApp(options)` builds every component from config (no side
 * effects on import; nothing listens until the entry point serves `app.hono`), wires them
 * to one supervisor, one registry and one logger, and owns the drain sequence.
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Tracer } from '@opentelemetry/api';
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CacheMetrics, closeRedis, createRedisClient, UnifiedCache } from './cache/index.js';
import { Condenser, CondenserCache } from './condense/index.js';
import type { Config } from './config/index.js';
import { HealthChecker } from './health/health-checker.js';
import { RedisSharedProbes } from './health/shared-probes.js';
import { KeySet } from './http/auth.js';
import { createRateLimiter } from './http/rate-limit.js';
import { corsMiddleware } from './http/cors.js';
import { errors, ProxyError } from './http/errors.js';
import { Admission } from './http/admission.js';
import { serveProxied, type ProxyHandler, type ProxyRequestDeps } from './http/proxy-request.js';
import { sendError } from './http/respond.js';
import { chatHandler, type ChatDeps } from './http/routes/chat.js';
import { embeddingsHandler } from './http/routes/embeddings.js';
import { modelResponse, modelsResponse } from './http/routes/models.js';
import { mountOps } from './http/routes/ops.js';
import { createProvider } from './providers/index.js';
import type { JsonAnswer, Provider } from './upstream/index.js';
import { ProviderCooldowns } from './routing/cooldowns.js';
import { FallbackEngine } from './routing/engine.js';
import { CONTRACT_TASKS, Supervisor, type TaskContext } from './tasks/index.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { ProxyMetrics, type Route } from './telemetry/proxy-metrics.js';
import { registerRuntimeMetrics } from './telemetry/runtime-metrics.js';

export interface AppOptions {
  config: Config;
  logger?: Logger;
  /** A fresh registry per app by default (never prom-client's global one). */
  registry?: Registry;
  tracer?: Tracer | undefined;
  version?: string;
}

export type AppState = 'starting' | 'ready' | 'draining' | 'stopped';

export interface DrainSummary {
  state: AppState;
  durationMs: number;
  inFlightAtStart: number;
  requestsFinished: boolean;
  cacheWrites: { written: number; pending: number };
  cancelledTasks: number;
  unsettledTasks: number;
  activeTasks: number;
  leakedTotal: number;
}

export interface App {
  readonly hono: Hono<{ Bindings: HttpBindings }>;
  readonly config: Config;
  readonly supervisor: Supervisor;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly engine: FallbackEngine;
  readonly health: HealthChecker;
  readonly cache: UnifiedCache | undefined;
  readonly state: AppState;
  /** Starts background work (health checks, cache loops) and marks the app ready. */
  start(): void;
  /** Stops taking proxy traffic, finishes in-flight work, flushes, cancels background tasks. */
  drain(deadlineMs?: number): Promise<DrainSummary>;
  /** Drains (if not yet), then closes Redis and the upstream pools. */
  close(): Promise<DrainSummary>;
}

export function createApp(options: AppOptions): App {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.telemetry.logLevel });
  const registry = options.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const stopRuntimeMetrics = registerRuntimeMetrics(registry, options.version ?? '0.0.0');

  const overrides = Object.fromEntries(
    Object.entries(config.tasks).map(([k, v]) => [k, { ...v }]),
  ) as Record<string, { graceMs?: number; maxConcurrent?: number }>;
  // A request task is receiving its body or holding an in-flight slot (http/admission.ts):
  // the task limit only backs those two bounds up.
  overrides['http/request'] = {
    maxConcurrent: config.server.maxInFlight + config.server.maxReceiving,
    ...overrides['http/request'],
  };
  const supervisor = new Supervisor({
    registry,
    logger,
    tasks: CONTRACT_TASKS,
    overrides,
    tracer: options.tracer,
    captureSpawnStacks: config.telemetry.captureSpawnStacks,
    onError: (err, t) => {
      const expected =
        (err as { expected?: unknown } | null)?.expected === true || err instanceof ProxyError;
      const fields = { owner: t.owner, task: t.task, taskId: t.id, trace_id: t.traceId };
      if (expected) logger.debug({ ...fields, err: String(err) }, 'task failed');
      else logger.error({ ...fields, err, site: t.site }, 'task failed');
    },
  });

  const providers: Provider[] = config.providers.map(createProvider);
  const metrics = new ProxyMetrics(
    registry,
    providers.map((p) => p.name),
  );
  const cacheMetrics = new CacheMetrics(registry, { redis: config.cache.redis !== undefined });
  const redisConfig = config.cache.redis;
  const redis: Redis | undefined =
    redisConfig === undefined ? undefined : createRedisClient(redisConfig, cacheMetrics, logger);
  const health = new HealthChecker({
    scope: supervisor.scope('health_checker'),
    providers,
    config: config.routing.healthCheck,
    metrics,
    logger,
    // With Redis, one replica probes each provider for all and publishes the result.
    ...(redis === undefined
      ? {}
      : {
          source: new RedisSharedProbes({
            redis,
            keyPrefix: redisConfig?.keyPrefix ?? 'llmp',
            intervalMs: config.routing.healthCheck.intervalMs,
            logger,
            registry,
            publishErrors: cacheMetrics.redisErrors.publish,
          }),
        }),
  });
  // A 429's Retry-After, remembered per provider; with Redis, every replica hears of it.
  const cooldowns = new ProviderCooldowns({
    providers: providers.map((p) => p.name),
    maxMs: config.routing.cooldown.maxMs,
    registry,
    logger,
    redis,
    keyPrefix: redisConfig?.keyPrefix ?? 'llmp',
    shareErrors: cacheMetrics.redisErrors.publish,
  });
  const engine = new FallbackEngine({
    providers,
    routing: config.routing,
    metrics,
    health: (p) => health.health(p),
    cooldowns,
  });

  const cache = config.cache.enabled
    ? new UnifiedCache({
        scope: supervisor.scope('unified_cache'),
        metrics: cacheMetrics,
        logger,
        ...(redis === undefined ? {} : { redis }),
        keyPrefix: redisConfig?.keyPrefix ?? 'llmp',
        ttlSeconds: config.cache.ttlSeconds,
        maxEntries: config.cache.maxEntries,
        maxBytes: config.cache.maxBytes,
        maxEntryBytes: config.cache.maxEntryBytes,
        redisMaxEntryBytes: redisConfig?.maxEntryBytes ?? config.cache.maxEntryBytes,
        cleanupIntervalMs: config.cache.cleanupIntervalMs,
        monitorIntervalMs: config.cache.monitorIntervalMs,
        warm: config.cache.warm,
        writeQueueMax: redisConfig?.writeQueueMax ?? 1_000,
        writeQueueMaxBytes: redisConfig?.writeQueueMaxBytes ?? 16 * 1024 * 1024,
      })
    : undefined;

  const condenseModels = Object.entries(config.condense.models);
  const condenserCache =
    condenseModels.length === 0
      ? undefined
      : new CondenserCache({
          scope: supervisor.scope('condenser_cache'),
          metrics: cacheMetrics,
          logger,
          redis,
          keyPrefix: redisConfig?.keyPrefix ?? 'llmp',
          maxEntries: config.condense.cacheMaxEntries,
          ttlSeconds: config.condense.cacheTtlSeconds,
          claimMs: config.condense.summaryClaimMs,
        });
  const condenser =
    condenserCache === undefined
      ? undefined
      : new Condenser({
          models: Object.fromEntries(
            condenseModels.map(([model, m]) => [
              model,
              {
                maxTokens: m.maxTokens,
                keepRecent: m.keepRecent ?? config.condense.keepRecent,
                summarizerModel: (m.summarizerModel ?? config.condense.summarizerModel)!,
                onFailure: m.onFailure,
              },
            ]),
          ),
          cache: condenserCache,
          registry,
          logger,
          summarize: async ({ model, messages }, _signal, context) => {
            const win = await engine.run<JsonAnswer>(
              context as TaskContext,
              model,
              (p, signal, otelContext) =>
                p.chat(
                  { model, messages, temperature: 0 },
                  { signal, otelContext },
                ) as Promise<JsonAnswer>,
            );
            await win.release();
            const text = (
              JSON.parse(win.answer.body) as { choices?: { message?: { content?: unknown } }[] }
            ).choices?.[0]?.message?.content;
            if (typeof text !== 'string') throw new Error('the summariser answered without text');
            return text;
          },
        });

  let state: AppState = 'starting';
  let draining: Promise<DrainSummary> | undefined;
  const httpScope = supervisor.scope('http');
  const keys = new KeySet(config.auth.apiKeys);
  if (keys.size === 0)
    logger.warn('auth.apiKeys is empty: the proxy accepts requests without a key');

  const proxyDeps: ProxyRequestDeps = {
    scope: httpScope,
    metrics,
    logger,
    keys,
    gate: { accepting: () => state === 'ready' || state === 'starting' },
    tracer: options.tracer,
    requestTimeoutMs: config.server.requestTimeoutMs,
    bodyLimitBytes: config.server.bodyLimitBytes,
    admission: new Admission(config.server),
  };
  const rateLimit = config.auth.rateLimit;
  if (rateLimit !== undefined) {
    proxyDeps.rateLimit = createRateLimiter({
      ...rateLimit,
      redis,
      keyPrefix: redisConfig?.keyPrefix ?? 'llmp',
      logger,
    });
  }
  const chatDeps: ChatDeps = {
    engine,
    metrics,
    cache,
    cacheNonDeterministic: config.cache.cacheNonDeterministic,
    cacheScope: config.cache.scope,
    condenser,
  };

  const hono = new Hono<{ Bindings: HttpBindings }>();
  if (config.server.cors.origins.length > 0) {
    hono.use('/v1/*', corsMiddleware(config.server.cors.origins));
  }
  const proxied = (route: Route, handler: ProxyHandler) => (c: { env: HttpBindings }) => {
    serveProxied(
      proxyDeps,
      route,
      { req: c.env.incoming, res: c.env.outgoing, upstreamMs: 0 },
      handler,
    );
    return RESPONSE_ALREADY_SENT;
  };
  hono.post('/v1/chat/completions', proxied('/v1/chat/completions', chatHandler(chatDeps)));
  hono.post('/v1/embeddings', proxied('/v1/embeddings', embeddingsHandler(chatDeps)));
  hono.get(
    '/v1/models',
    proxied('/v1/models', (_ctx, io) => {
      modelsResponse(io.res, providers);
      return Promise.resolve();
    }),
  );
  // Ids may hold slashes (org/model), sent encoded by the SDK or not; one route label for both.
  hono.get('/v1/models/:id{.+}', (c) =>
    proxied('/v1/models', (_ctx, io) => {
      modelResponse(io.res, providers, c.req.param('id'));
      return Promise.resolve();
    })(c),
  );

  const drain = (deadlineMs = config.server.shutdownDeadlineMs): Promise<DrainSummary> => {
    draining ??= (async () => {
      const started = performance.now();
      const left = (): number => Math.max(50, deadlineMs - (performance.now() - started));
      state = 'draining';
      const inFlightAtStart = httpScope.ownTasks;
      const requestsFinished = await httpScope.idle(left());
      const flushed = (await cache?.flush(left())) ?? { written: 0, pending: 0 };
      await condenserCache?.flush(left());
      await Promise.all([cache?.stop(left()), condenserCache?.stop(left())]);
      const rest = await supervisor.shutdown(left());
      // Out of time with tasks ignoring their cancellation: their grace periods decide, so
      // each is declared leaked (counted, logged, in the exit code) before the summary.
      if (rest.unsettled > 0) await supervisor.awaitLeakVerdicts();
      const durationMs = performance.now() - started;
      supervisor.recordShutdown(durationMs / 1000);
      state = 'stopped';
      const summary: DrainSummary = {
        state,
        durationMs: Math.round(durationMs),
        inFlightAtStart,
        requestsFinished,
        cacheWrites: { written: flushed.written, pending: flushed.pending },
        cancelledTasks: rest.cancelled,
        unsettledTasks: rest.unsettled,
        activeTasks: supervisor.liveCount(),
        leakedTotal: supervisor.leakedTotal(),
      };
      logger.info(summary, 'drained');
      return summary;
    })();
    return draining;
  };

  mountOps(hono, {
    registry,
    supervisor,
    metrics,
    adminToken: config.auth.adminToken,
    metricsToken: config.auth.metricsToken,
    readiness: () => state,
    drain: () => drain(),
  });
  hono.notFound((c) => {
    const started = performance.now();
    // A known path asked with another method is a 405 naming the right one, not a 404.
    const allow = hono.routes.filter((r) => r.path === c.req.path).map((r) => r.method);
    const err =
      allow.length > 0
        ? errors.methodNotAllowed(c.req.method, c.req.path, allow)
        : errors.notFound(c.req.path);
    metrics.request('other', c.req.method, err.status, (performance.now() - started) / 1000);
    return c.body(JSON.stringify(err.toJSON()), err.status as 404, err.headers());
  });
  hono.onError((err, c) => {
    logger.error({ err }, 'unhandled error in a route');
    const e = err instanceof ProxyError ? err : errors.internal();
    if (c.env.outgoing.headersSent) return RESPONSE_ALREADY_SENT;
    sendError(c.env.outgoing, e);
    return RESPONSE_ALREADY_SENT;
  });

  let closed: Promise<DrainSummary> | undefined;
  return {
    hono,
    config,
    supervisor,
    registry,
    logger,
    engine,
    health,
    cache,
    get state() {
      return state;
    },
    start() {
      if (state !== 'starting') return;
      health.start();
      cache?.start();
      cooldowns.start();
      state = 'ready';
    },
    drain,
    close() {
      closed ??= (async () => {
        const summary = await drain();
        await Promise.all(providers.map((p) => p.close()));
        await cooldowns.close();
        if (redis !== undefined) await closeRedis(redis, 1_000);
        stopRuntimeMetrics();
        return summary;
      })();
      return closed;
    },
  };
}
