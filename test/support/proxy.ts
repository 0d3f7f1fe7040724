/**
 * Starts llm-proxy in-process on a loopback port from a config object, with the official
 * OpenAI SDK pointed at it, and tears it all down (drain, close, no-leak check) after.
 */
import OpenAI from 'openai';
import { Writable } from 'node:stream';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { listen, type Listening } from '../../src/http/server.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { parseExposition, sum } from '../../src/telemetry/exposition.js';
import { expectNoLeaks, resourceBaseline, type ResourceBaseline } from './no-leaks.js';

export interface RunningProxy {
  app: App;
  server: Listening;
  url: string;
  client: OpenAI;
  logs: Record<string, unknown>[];
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  metricsText(): Promise<string>;
  /** Drains, closes, and asserts no task or resource leaked. */
  stop(): Promise<void>;
}

/** createApp options a test may add (config and logger are startProxy's own). */
export type ExtraAppOptions = Omit<AppOptions, 'config' | 'logger'>;

export async function startProxy(
  raw: Record<string, unknown>,
  env: Record<string, string> = {},
  extra: ExtraAppOptions = {},
): Promise<RunningProxy> {
  const baseline: ResourceBaseline = resourceBaseline();
  const config: Config = parseConfig({ server: { port: 0 }, ...raw }, env);
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const app = createApp({
    ...extra,
    config,
    logger: createLogger({ level: 'debug', destination }),
  });
  const server = await listen(app, '127.0.0.1', 0);
  app.start();
  const apiKey = config.auth.apiKeys[0] ?? 'unused';
  const client = new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey,
    maxRetries: 0,
    timeout: 20_000,
  });
  const metricsText = async (): Promise<string> => app.registry.metrics();
  return {
    app,
    server,
    url: server.url,
    client,
    logs,
    metricsText,
    metric: async (name, labels = {}) => sum(parseExposition(await metricsText()), name, labels),
    stop: async () => {
      server.stopAccepting();
      await app.close();
      await server.close();
      await expectNoLeaks([app], baseline);
    },
  };
}
