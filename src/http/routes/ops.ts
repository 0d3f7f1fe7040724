/**
 * Operational routes: liveness (the watchdog: 503 naming a stalled critical loop), readiness
 * (drain state only), the Prometheus scrape, and the admin routes (live tasks, drain), which
 * need the admin token. These stay up while draining. Each answers through its request's
 * Exchange, like the proxied routes: timed and counted once.
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { liveness, type Supervisor, type WatchdogOptions } from '../../tasks/index.js';
import { exposition } from '../../telemetry/exposition.js';
import type { ProxyMetrics, Route } from '../../telemetry/proxy-metrics.js';
import { bearer, KeySet, repeatedAuthorization } from '../auth.js';
import { errors, type ProxyError } from '../errors.js';
import { answerFailure, exchangeOf, type Exchange, type NodeContext } from '../exchange.js';

export interface OpsDeps {
  registry: Registry;
  supervisor: Supervisor;
  metrics: ProxyMetrics;
  /** Where a route's unexpected throw is logged (it is answered 500). */
  logger: Logger;
  adminToken: string | undefined;
  metricsToken: string | undefined;
  readiness: () => 'starting' | 'ready' | 'draining' | 'stopped';
  /** What makes /healthz fail: stalled critical loops, leaked tasks (server.watchdog). */
  watchdog: WatchdogOptions;
  drain: () => Promise<unknown>;
}

/** An ops route's work: answers through `ex` (which counts it once the route returns). */
type OpsHandler = (ex: Exchange) => void | Promise<void>;

/** /healthz's answer while alive never changes: serialised once. */
const HEALTHY = JSON.stringify({ status: 'ok' });

/**
 * The Hono handler for an ops route: the request's Exchange (its timer starts here), the
 * route's work, then the request counted; a throw is logged and answered 500.
 */
function opsRoute(deps: OpsDeps, route: Route, handler: OpsHandler) {
  return async function answer(c: NodeContext): Promise<Response> {
    const ex = exchangeOf(route, c, deps.metrics);
    try {
      await handler(ex);
    } catch (err) {
      return answerFailure(ex, err, deps.logger);
    }
    ex.done();
    return RESPONSE_ALREADY_SENT;
  };
}

/** Why a request is refused a route guarded by `tokens`: one Bearer token, one of them. */
function tokenRefusal(tokens: KeySet, ex: Exchange, refusal: ProxyError): ProxyError | undefined {
  if (repeatedAuthorization(ex.req.rawHeaders)) return errors.repeatedAuthorization();
  const token = bearer(ex.req.headers);
  return token !== undefined && tokens.has(token) ? undefined : refusal;
}

export function mountOps(app: Hono<{ Bindings: HttpBindings }>, deps: OpsDeps): void {
  const admin = deps.adminToken === undefined ? undefined : new KeySet([deps.adminToken]);
  const scrape = deps.metricsToken === undefined ? undefined : new KeySet([deps.metricsToken]);
  // Every refusal is a 401, whatever was presented: with no adminToken configured (the
  // default) the answer says so, and neither answer nor log ever carries a token.
  const adminGuard = (ex: Exchange): ProxyError | undefined =>
    admin === undefined ? errors.adminDisabled() : tokenRefusal(admin, ex, errors.adminOnly());

  app.get(
    '/healthz',
    opsRoute(deps, '/healthz', (ex) => {
      const { supervisor } = deps;
      const alive = liveness(supervisor.loopHealth(), supervisor.leakedRunning(), deps.watchdog);
      if (alive.status === 'ok') ex.json(200, HEALTHY);
      else ex.json(503, JSON.stringify(alive));
    }),
  );
  app.get(
    '/readyz',
    opsRoute(deps, '/readyz', (ex) => {
      const state = deps.readiness();
      ex.json(state === 'ready' ? 200 : 503, JSON.stringify({ status: state }));
    }),
  );
  app.get(
    '/metrics',
    opsRoute(deps, '/metrics', async (ex) => {
      const denied =
        scrape === undefined ? undefined : tokenRefusal(scrape, ex, errors.invalidKey());
      if (denied !== undefined) return ex.error(denied);
      const { body, contentType } = await exposition(deps.registry, ex.req.headers.accept);
      ex.text(200, body, contentType);
    }),
  );
  app.get(
    '/admin/tasks',
    opsRoute(deps, '/admin/tasks', (ex) => {
      const denied = adminGuard(ex);
      if (denied !== undefined) return ex.error(denied);
      const tasks = deps.supervisor.snapshot();
      ex.json(200, JSON.stringify({ count: tasks.length, tasks }));
    }),
  );
  app.post(
    '/admin/drain',
    opsRoute(deps, '/admin/drain', async (ex) => {
      const denied = adminGuard(ex);
      if (denied !== undefined) return ex.error(denied);
      ex.json(200, JSON.stringify(await deps.drain()));
    }),
  );
}
