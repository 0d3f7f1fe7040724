/**
 * `llm-proxy [--config FILE]`: load and validate config (every problem printed, exit 1,
 * before anything listens), start tracing when OTEL_* asks for it, serve, and on
 * SIGTERM/SIGINT run the graceful path: readiness 503 and new proxy requests refused (503)
 * at once, finish in-flight requests, flush cache writes, cancel background tasks, close
 * the listener, Redis and pools, flush telemetry, log a summary, exit 0 (1 if any task
 * leaked). A second signal forces exit.
 *
 * The listener stays open until the drain is done, answering /readyz (503), /healthz and
 * /metrics, so load balancers and probes see the proxy going away rather than a refused
 * connection, and Prometheus can scrape the drain; proxy requests get an OpenAI-shaped 503
 * with `Connection: close`, which the SDKs retry (elsewhere, behind a load balancer).
 */
import type { Logger } from 'pino';
import { createApp, type App } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { listen, type Listening } from '../http/server.js';
import { armTimer } from '../tasks/timers.js';
import { createLogger } from '../telemetry/logger.js';
import { startTracing, type Tracing } from '../telemetry/tracing.js';
import { version } from '../version.js';

export interface ServeArgs {
  config?: string;
}

export function parseServeArgs(argv: readonly string[]): ServeArgs | string {
  const args: ServeArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const v = argv[++i];
      if (v === undefined) return `${a} needs a file path`;
      args.config = v;
    } else if (a.startsWith('--config=')) {
      args.config = a.slice('--config='.length);
    } else {
      return `unknown argument ${a}`;
    }
  }
  return args;
}

export async function serve(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const config = configFrom(argv, env);
  if (typeof config === 'number') return config;
  const logger = createLogger({ level: config.telemetry.logLevel });
  const tracing = await startTracing(env, version(), {
    armTimer,
    serviceName: config.telemetry.serviceName,
    log: logger.child({ component: 'tracing' }),
  });
  const app = createApp({ config, logger, tracer: tracing?.tracer, version: version() });
  let server;
  try {
    server = await listen(app, config.server.host, config.server.port);
  } catch (err) {
    // EADDRINUSE, EACCES, EADDRNOTAVAIL: an operator's problem, said in one line (no stack).
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    process.stderr.write(
      `llm-proxy: cannot listen on ${config.server.host}:${config.server.port} (${reason})\n`,
    );
    await app.close();
    await tracing?.shutdown().catch(() => undefined);
    return 1;
  }
  app.start();
  logger.info(
    {
      url: server.url,
      providers: config.providers.map((p) => p.name),
      tracing: tracing !== undefined,
    },
    'llm-proxy listening',
  );
  return untilStopped({ config, logger, tracing, app, server });
}

/** The validated config, or the exit code after printing why there is none (2 usage, 1 config). */
function configFrom(argv: readonly string[], env: NodeJS.ProcessEnv): Config | number {
  const args = parseServeArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`llm-proxy: ${args}\nusage: llm-proxy [--config FILE]\n`);
    return 2;
  }
  try {
    return loadConfig({ ...(args.config === undefined ? {} : { file: args.config }), env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

interface Running {
  readonly config: Config;
  readonly logger: Logger;
  readonly tracing: Tracing | undefined;
  readonly app: App;
  readonly server: Listening;
}

/** Resolves with the exit code once a signal's shutdown is done (or a second signal came). */
function untilStopped(running: Running): Promise<number> {
  const { config, logger, app } = running;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // Backstop: if the ordered path itself hangs, leave anyway (as a failure). The drain
      // may outlast its deadline by a grace period, while tasks that ignored their
      // cancellation are given the time to settle or be declared leaked.
      armTimer(config.server.shutdownDeadlineMs + app.supervisor.maxGraceMs() + 5_000, () => {
        logger.error('shutdown exceeded its deadline: exiting');
        resolve(1);
      });
      shutDown(running).then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The ordered path: drain the app, close the listener, flush traces; 1 if any task leaked. */
async function shutDown({ logger, tracing, app, server }: Running): Promise<number> {
  const summary = await app.close();
  await server.close();
  await tracing
    ?.shutdown()
    .catch((err: unknown) => logger.warn({ err: String(err) }, 'trace flush failed'));
  const code = summary.leakedTotal > 0 ? 1 : 0;
  logger.info({ ...summary, exitCode: code }, 'shutdown complete');
  return code;
}
