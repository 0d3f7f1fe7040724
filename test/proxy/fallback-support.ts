/**
 * Shared set-up for the fallback, breaker, retry, health and disconnect suites: config
 * builders around fake upstreams, a fixture list that closes everything a test opened
 * (even when it failed half-way), and readers for the metrics those suites assert on.
 */
import { APIError } from 'openai';
import {
  startFakeUpstream,
  type FakeEvent,
  type FakeUpstream,
  type FakeUpstreamOptions,
} from '../../src/fake-upstream/index.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

export const MODEL = 'gpt-4o-mini';
export const CHAT_PATH = '/v1/chat/completions';

/** An OpenAI-type provider pointing at a fake upstream; `extra` overrides any key. */
export function provider(
  name: string,
  upstream: FakeUpstream,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    type: 'openai',
    baseUrl: `${upstream.url}/v1`,
    models: [MODEL],
    timeoutMs: 5_000,
    ...extra,
  };
}

/**
 * A proxy config with the noise turned off: no response cache (repeated prompts must reach
 * the upstreams), no health checks, one try per provider. `routing` keys replace these.
 */
export function proxyConfig(
  providers: Record<string, unknown>[],
  routing: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    providers,
    routing: { healthCheck: { enabled: false }, retries: { maxAttempts: 1 }, ...routing },
    cache: { enabled: false },
  };
}

/**
 * Upstreams and proxies opened by one test. Upstreams must start before the proxy (its
 * leak check compares against the resources alive when it started). A test ends with its
 * own `proxy.stop()`; `cleanup()` (afterEach) stops any proxy a failed test left running,
 * without masking that failure, then closes the upstreams.
 */
export class Fixtures {
  private upstreams: FakeUpstream[] = [];
  private proxies: { proxy: RunningProxy; stopped: boolean }[] = [];

  async upstream(name: string, options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
    const upstream = await startFakeUpstream({ name, ...options });
    this.upstreams.push(upstream);
    return upstream;
  }

  async proxy(raw: Record<string, unknown>): Promise<RunningProxy> {
    const proxy = await startProxy(raw);
    const entry = { proxy, stopped: false };
    this.proxies.push(entry);
    return {
      ...proxy,
      stop: async () => {
        entry.stopped = true;
        await proxy.stop();
      },
    };
  }

  async cleanup(): Promise<void> {
    for (const entry of this.proxies) {
      if (!entry.stopped) await entry.proxy.stop().catch(() => undefined);
    }
    await Promise.all(this.upstreams.map((u) => u.close()));
    this.upstreams = [];
    this.proxies = [];
  }
}

/** Chat completion requests an upstream has received (health probes excluded). */
export function chatRequests(upstream: FakeUpstream): FakeEvent[] {
  return upstream.events.filter((e) => e.kind === 'request' && e.path === CHAT_PATH);
}

/** The first chat request that the proxy abandoned (closed its socket mid-exchange). */
export function chatDisconnect(upstream: FakeUpstream, timeoutMs?: number): Promise<FakeEvent> {
  return upstream.waitFor((e) => e.kind === 'disconnect' && e.path === CHAT_PATH, timeoutMs);
}

export type AttemptCounts = { won: number; lost: number; failed: number };

/** llm_proxy_fallback_attempts_total for one provider, by result. */
export async function attempts(proxy: RunningProxy, name: string): Promise<AttemptCounts> {
  const read = (result: string): Promise<number> =>
    proxy.metric('llm_proxy_fallback_attempts_total', { provider: name, result });
  const [won, lost, failed] = await Promise.all([read('won'), read('lost'), read('failed')]);
  return { won, lost, failed };
}

/** llm_proxy_upstream_requests_total{provider,outcome}. */
export function upstreamRequests(
  proxy: RunningProxy,
  name: string,
  outcome: string,
): Promise<number> {
  return proxy.metric('llm_proxy_upstream_requests_total', { provider: name, outcome });
}

/** llm_proxy_task_cancellations_total{owner,reason}, summed over tasks. */
export function cancellations(
  proxy: RunningProxy,
  owner: string,
  reason: string,
  task?: string,
): Promise<number> {
  const labels = task === undefined ? { owner, reason } : { owner, task, reason };
  return proxy.metric('llm_proxy_task_cancellations_total', labels);
}

/** A one-message chat request body. */
export function chatBody(content = 'hello') {
  return { model: MODEL, messages: [{ role: 'user' as const, content }] };
}

/** The SDK error a request failed with; fails the test if it succeeded or failed otherwise. */
export async function apiError(request: Promise<unknown>): Promise<APIError> {
  try {
    await request;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}
