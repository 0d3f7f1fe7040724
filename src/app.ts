/**
 * The composition root: `createApp(options)` builds every component from config (no side
 * effects on import; nothing listens until the entry point serves `app.hono`), mounts the
 * routes and owns the app's lifecycle. The parts: app/components.ts (assembly),
 * app/routes.ts (route mounting), app/drain.ts (the drain sequence).
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { closeRedis, type UnifiedCache } from './cache/index.js';
import { assemble, type AppDeps } from './app/components.js';
import { drainApp, type AppState, type DrainSummary } from './app/drain.js';
import { mountRoutes } from './app/routes.js';
import type { Config } from './config/index.js';
import type { HealthChecker } from './health/health-checker.js';
import type { DirectRoutes } from './http/server.js';
import type { FallbackEngine } from './routing/engine.js';
import type { Supervisor } from './tasks/index.js';
import type { Logger } from './telemetry/logger.js';

export type { AppState, DrainSummary } from './app/drain.js';

export interface AppOptions extends AppDeps {
  config: Config;
}

export interface App {
  readonly hono: Hono<{ Bindings: HttpBindings }>;
  /** The hot routes, also served by the server straight on the Node pair. */
  readonly direct: DirectRoutes;
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
  const parts = assemble(config, options);
  const { supervisor, logger, health, cache, cooldowns, providers, redis } = parts;

  let state: AppState = 'starting';
  let draining: Promise<DrainSummary> | undefined;
  const drain = (deadlineMs = config.server.shutdownDeadlineMs): Promise<DrainSummary> => {
    draining ??= drainApp(
      {
        supervisor,
        logger,
        httpScope: parts.httpScope,
        cache,
        condenserCache: parts.condensation?.cache,
        responseStore: parts.responseStore,
        setState: (next) => (state = next),
      },
      deadlineMs,
    );
    return draining;
  };

  const hono = new Hono<{ Bindings: HttpBindings }>();
  const direct = mountRoutes(hono, config, parts, { state: () => state, drain: () => drain() });

  let closed: Promise<DrainSummary> | undefined;
  return {
    hono,
    direct,
    config,
    supervisor,
    registry: parts.registry,
    logger,
    engine: parts.engine,
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
        parts.stopRuntimeMetrics();
        return summary;
      })();
      return closed;
    },
  };
}
