/**
 * Component assembly: every part of the proxy built from config, wired to one supervisor, one
 * registry and one logger. Nothing starts here (app.start() does) and nothing listens.
 * Construction order is registration order (metrics, task scopes), so it is kept stable.
 */
import type { Context, Tracer } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CacheMetrics, createRedisClient, UnifiedCache } from '../cache/index.js';
import { ResponseStore } from '../cache/response-store.js';
import { createCondensation, type Condensation } from '../condense/index.js';
import type { Config, RedisConfig } from '../config/index.js';
import { REDIS_DEFAULTS } from '../config/schema.js';
import { HealthChecker } from '../health/health-checker.js';
import { RedisSharedProbes } from '../health/shared-probes.js';
import { Admission } from '../http/admission.js';
import { KeySet } from '../http/auth.js';
import { createRateLimiter, type RateLimitHook } from '../http/rate-limit.js';
import { createProvider } from '../providers/index.js';
import { ProviderCooldowns } from '../routing/cooldowns.js';
import { FallbackEngine, type Win } from '../routing/engine.js';
import {
  CONTRACT_TASKS,
  isExpectedFailure,
  Supervisor,
  type CancelSignal,
  type Scope,
  type TaskContext,
} from '../tasks/index.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { registerRuntimeMetrics } from '../telemetry/runtime-metrics.js';
import type { JsonAnswer, Provider } from '../upstream/index.js';
import type { ChatCompletionRequest } from '../upstream/openai-types.js';

/** What the embedder may hand in instead of the defaults. */
export interface AppDeps {
  logger?: Logger;
  /** A fresh registry per app by default (never prom-client's global one). */
  registry?: Registry;
  tracer?: Tracer | undefined;
  version?: string;
}

export interface Components {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly tracer: Tracer | undefined;
  readonly supervisor: Supervisor;
  readonly stopRuntimeMetrics: () => void;
  readonly providers: Provider[];
  readonly metrics: ProxyMetrics;
  readonly redis: Redis | undefined;
  readonly health: HealthChecker;
  readonly cooldowns: ProviderCooldowns;
  readonly engine: FallbackEngine;
  readonly cache: UnifiedCache | undefined;
  /** The Responses API's stored responses (always: memory, and Redis when configured). */
  readonly responseStore: ResponseStore;
  readonly condensation: Condensation | undefined;
  /** The scope every request task runs in. */
  readonly httpScope: Scope;
  readonly keys: KeySet;
  readonly admission: Admission;
  readonly rateLimit: RateLimitHook | undefined;
}

/** The parts every component is built with. */
interface Core {
  config: Config;
  logger: Logger;
  registry: Registry;
  supervisor: Supervisor;
  cacheMetrics: CacheMetrics;
  redis: Redis | undefined;
  /** cache.redis, or its defaults when memory only (then nothing reads them to reach Redis). */
  redisSettings: Omit<RedisConfig, 'url'>;
}

export function assemble(config: Config, deps: AppDeps): Components {
  const logger = deps.logger ?? createLogger({ level: config.telemetry.logLevel });
  const registry = deps.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const stopRuntimeMetrics = registerRuntimeMetrics(registry, deps.version ?? '0.0.0');
  const supervisor = createSupervisor(config, registry, logger, deps.tracer);

  const providers: Provider[] = config.providers.map(createProvider);
  const metrics = new ProxyMetrics(
    registry,
    providers.map((p) => p.name),
  );
  const cacheMetrics = new CacheMetrics(registry, { redis: config.cache.redis !== undefined });
  const redis: Redis | undefined =
    config.cache.redis === undefined
      ? undefined
      : createRedisClient(config.cache.redis, cacheMetrics, logger);
  const redisSettings = config.cache.redis ?? REDIS_DEFAULTS;
  const core: Core = { config, logger, registry, supervisor, cacheMetrics, redis, redisSettings };
  const { health, cooldowns, engine } = createRouting(core, providers, metrics);
  const cache = config.cache.enabled ? createResponseCache(core) : undefined;
  const responseStore = new ResponseStore({
    scope: supervisor.scope('response_store'),
    metrics: cacheMetrics,
    logger,
    redis,
    keyPrefix: redisSettings.keyPrefix,
    ttlSeconds: config.responses.storeTtlSeconds,
    maxEntries: config.responses.storeMaxEntries,
    maxBytes: config.responses.storeMaxBytes,
  });
  const condensation = createCondensation({
    config: config.condense,
    ask: askThrough(engine),
    supervisor,
    metrics: cacheMetrics,
    registry,
    logger,
    redis,
    keyPrefix: redisSettings.keyPrefix,
  });

  const httpScope = supervisor.scope('http');
  const keys = new KeySet(config.auth.apiKeys);
  if (keys.size === 0)
    logger.warn('auth.apiKeys is empty: the proxy accepts requests without a key');
  const admission = new Admission(config.server);
  const rateLimit =
    config.auth.rateLimit === undefined
      ? undefined
      : createRateLimiter({
          ...config.auth.rateLimit,
          ...(redis === undefined ? {} : { redis, keyPrefix: redisSettings.keyPrefix }),
          logger,
        });
  return {
    logger,
    registry,
    tracer: deps.tracer,
    supervisor,
    stopRuntimeMetrics,
    providers,
    metrics,
    redis,
    health,
    cooldowns,
    engine,
    cache,
    responseStore,
    condensation,
    httpScope,
    keys,
    admission,
    rateLimit,
  };
}

function createSupervisor(
  config: Config,
  registry: Registry,
  logger: Logger,
  tracer: Tracer | undefined,
): Supervisor {
  const overrides = Object.fromEntries(
    Object.entries(config.tasks).map(([k, v]) => [k, { ...v }]),
  ) as Record<string, { graceMs?: number; maxConcurrent?: number }>;
  // A request task is receiving its body or holding an in-flight slot (http/admission.ts):
  // the task limit only backs those two bounds up.
  overrides['http/request'] = {
    maxConcurrent: config.server.maxInFlight + config.server.maxReceiving,
    ...overrides['http/request'],
  };
  return new Supervisor({
    registry,
    logger,
    tasks: CONTRACT_TASKS,
    overrides,
    tracer,
    captureSpawnStacks: config.telemetry.captureSpawnStacks,
    onError: (err, t) => {
      const fields = { owner: t.owner, task: t.task, taskId: t.id, trace_id: t.traceId };
      if (isExpectedFailure(err)) logger.debug({ ...fields, err: String(err) }, 'task failed');
      else logger.error({ ...fields, err, site: t.site }, 'task failed');
    },
  });
}

/** Health checks, rate-limit cooldowns and the fallback engine that reads both. */
function createRouting(core: Core, providers: Provider[], metrics: ProxyMetrics) {
  const { config, logger, registry, supervisor, cacheMetrics, redis, redisSettings } = core;
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
            keyPrefix: redisSettings.keyPrefix,
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
    ...(redis === undefined ? {} : { redis, keyPrefix: redisSettings.keyPrefix }),
    shareErrors: cacheMetrics.redisErrors.publish,
  });
  const engine = new FallbackEngine({
    providers,
    routing: config.routing,
    metrics,
    health: (p) => health.health(p),
    cooldowns,
  });
  return { health, cooldowns, engine };
}

function createResponseCache(core: Core): UnifiedCache {
  const { config, logger, supervisor, cacheMetrics, redis, redisSettings } = core;
  return new UnifiedCache({
    scope: supervisor.scope('unified_cache'),
    metrics: cacheMetrics,
    logger,
    ...(redis === undefined ? {} : { redis }),
    keyPrefix: redisSettings.keyPrefix,
    ttlSeconds: config.cache.ttlSeconds,
    maxEntries: config.cache.maxEntries,
    maxBytes: config.cache.maxBytes,
    maxEntryBytes: config.cache.maxEntryBytes,
    // Read only when writing to Redis (memory-only mode has no redis settings of its own).
    redisMaxEntryBytes: redisSettings.maxEntryBytes,
    cleanupIntervalMs: config.cache.cleanupIntervalMs,
    monitorIntervalMs: config.cache.monitorIntervalMs,
    warm: config.cache.warm,
    writeQueueMax: redisSettings.writeQueueMax,
    writeQueueMaxBytes: redisSettings.writeQueueMaxBytes,
  });
}

const ask = (p: Provider, request: ChatCompletionRequest, signal: CancelSignal, otel: Context) =>
  p.chat(request, { signal, otelContext: otel }) as Promise<JsonAnswer>;
const answerBody = (win: Win<JsonAnswer>): Promise<string> => Promise.resolve(win.answer.body);

/** The summariser asks through the fallback engine, in the task of the request it condenses. */
function askThrough(engine: FallbackEngine) {
  return async (request: ChatCompletionRequest, context: unknown): Promise<string> => {
    const routed = await engine.run(
      context as TaskContext,
      request.model,
      request,
      ask,
      answerBody,
    );
    return routed.result;
  };
}
