/**
 * Operational routes: liveness, readiness, the Prometheus scrape, and the admin routes
 * (live tasks, drain), which need the admin token. These stay up while draining.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { Supervisor } from '../../tasks/index.js';
import type { ProxyMetrics, Route } from '../../telemetry/proxy-metrics.js';
import { bearer, KeySet, repeatedAuthorization } from '../auth.js';
import { errors, type ProxyError } from '../errors.js';

export interface OpsDeps {
  registry: Registry;
  supervisor: Supervisor;
  metrics: ProxyMetrics;
  adminToken: string | undefined;
  metricsToken: string | undefined;
  readiness: () => 'starting' | 'ready' | 'draining' | 'stopped';
  drain: () => Promise<unknown>;
}

type Ctx = Context<{ Bindings: HttpBindings }>;

function errorResponse(c: Ctx, err: ProxyError): Response {
  return c.body(JSON.stringify(err.toJSON()), err.status as 401, err.headers());
}

export function mountOps(app: Hono<{ Bindings: HttpBindings }>, deps: OpsDeps): void {
  const admin = deps.adminToken === undefined ? undefined : new KeySet([deps.adminToken]);
  const scrape = deps.metricsToken === undefined ? undefined : new KeySet([deps.metricsToken]);
  const timed =
    (route: Route, handler: (c: Ctx) => Response | Promise<Response>) =>
    async (c: Ctx): Promise<Response> => {
      const started = performance.now();
      const res = await handler(c);
      deps.metrics.request(route, c.req.method, res.status, (performance.now() - started) / 1000);
      return res;
    };
  // Every refusal is a 401, whatever was presented: with no adminToken configured (the
  // default) the answer says so, and neither answer nor log ever carries a token.
  const adminGuard = (c: Ctx): ProxyError | undefined => {
    if (admin === undefined) return errors.adminDisabled();
    if (repeatedAuthorization(c.env.incoming.rawHeaders)) return errors.repeatedAuthorization();
    const token = bearer(c.env.incoming.headers);
    return token !== undefined && admin.has(token) ? undefined : errors.adminOnly();
  };

  app.get(
    '/healthz',
    timed('/healthz', (c) => c.json({ status: 'ok' })),
  );
  app.get(
    '/readyz',
    timed('/readyz', (c) => {
      const state = deps.readiness();
      return c.json({ status: state }, state === 'ready' ? 200 : 503);
    }),
  );
  app.get(
    '/metrics',
    timed('/metrics', async (c) => {
      if (scrape !== undefined) {
        if (repeatedAuthorization(c.env.incoming.rawHeaders))
          return errorResponse(c, errors.repeatedAuthorization());
        const token = bearer(c.env.incoming.headers);
        if (token === undefined || !scrape.has(token)) return errorResponse(c, errors.invalidKey());
      }
      return c.body(await deps.registry.metrics(), 200, {
        'content-type': deps.registry.contentType,
      });
    }),
  );
  app.get(
    '/admin/tasks',
    timed('/admin/tasks', (c) => {
      const denied = adminGuard(c);
      if (denied !== undefined) return errorResponse(c, denied);
      const tasks = deps.supervisor.snapshot();
      return c.json({ count: tasks.length, tasks });
    }),
  );
  app.post(
    '/admin/drain',
    timed('/admin/drain', async (c) => {
      const denied = adminGuard(c);
      if (denied !== undefined) return errorResponse(c, denied);
      return c.json((await deps.drain()) as object);
    }),
  );
}
