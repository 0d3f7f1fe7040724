/**
 * The goleak-style check every service test ends with (test/support/no-leaks.ts) must be
 * able to fail: a socket, a server or a timer left open, a task still running, or a task
 * that leaked at some point each make expectNoLeaks reject. Otherwise a green suite would
 * prove nothing.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_WARM } from '../../src/tasks/index.js';
import { armTimer } from '../../src/tasks/timers.js';
import { expectNoLeaks, resourceBaseline } from '../support/no-leaks.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const SHORT = { timeoutMs: 100 };

const config = () => ({
  providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 0 }],
  routing: { healthCheck: { enabled: false } },
});

let cleanup: (() => Promise<void> | void) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('expectNoLeaks', () => {
  it('passes when everything opened during the test is closed again', async () => {
    const baseline = resourceBaseline();
    const timer = setTimeout(() => undefined, 10_000);
    clearTimeout(timer);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => server.close(() => r()));
    await expect(expectNoLeaks([], baseline, SHORT)).resolves.toBeUndefined();
  });

  it('fails when a timer is left pending', async () => {
    // NOTE: the census counts timers, not identities. Vitest arms a ref'd 100 ms timer
    // (throttled task updates) as a test starts; a baseline taken while it is pending would
    // hide one leaked timer once it fires. Let it fire first so this test is deterministic.
    await new Promise((r) => setTimeout(r, 150));
    const baseline = resourceBaseline();
    const timer = setInterval(() => undefined, 10_000);
    cleanup = () => clearInterval(timer);
    await expect(expectNoLeaks([], baseline, SHORT)).rejects.toThrow(
      /leak check failed after 100 ms:[\s\S]*active resources above baseline: Timeout: /,
    );
  });

  it("fails when one of the spawner's unref'd timers is left armed (Node's census can't see it)", async () => {
    const baseline = resourceBaseline();
    const disarm = armTimer(60_000, () => undefined);
    cleanup = disarm;
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(
      baseline.get('Timeout') ?? 0,
    );
    const before = baseline.get('spawner timers') ?? 0;
    await expect(expectNoLeaks([], baseline, SHORT)).rejects.toThrow(
      `active resources above baseline: spawner timers: ${before + 1} now, ${before} before`,
    );
    disarm();
    disarm(); // idempotent: counted once
    await expect(expectNoLeaks([], baseline, SHORT)).resolves.toBeUndefined();
  });

  it('fails when a listening socket is left open', async () => {
    const baseline = resourceBaseline();
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup = () => new Promise<void>((r) => server.close(() => r()));
    await expect(expectNoLeaks([], baseline, SHORT)).rejects.toThrow(
      /active resources above baseline: TCPServerWrap: /,
    );
  });

  it('fails when a connected socket is left open', async () => {
    const server: Server = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const baseline = resourceBaseline();
    const { createConnection } = await import('node:net');
    const socket = createConnection({ host: '127.0.0.1', port });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    cleanup = async () => {
      socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    };
    await expect(expectNoLeaks([], baseline, SHORT)).rejects.toThrow(
      /active resources above baseline: TCPSocketWrap: /,
    );
  });

  it('fails while an app still has a live task, naming it', async () => {
    let proxy: RunningProxy | undefined = await startProxy(config());
    const baseline = resourceBaseline();
    const scope = proxy.app.supervisor.scope('unified_cache');
    const handle = scope.spawn(
      CACHE_WARM,
      (ctx) => new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r())),
    );
    cleanup = async () => {
      handle.cancel();
      await proxy?.stop();
      proxy = undefined;
    };
    await expect(expectNoLeaks([proxy.app], baseline, SHORT)).rejects.toThrow(
      /live task\(s\): .*"task":"warm"/,
    );
    handle.cancel();
    await handle.settled;
    // Background loops of a serving app are live tasks too, until it is closed.
    await expect(expectNoLeaks([proxy.app], baseline, SHORT)).rejects.toThrow(/"task":"cleanup"/);
    await proxy.stop();
    proxy = undefined;
  });

  it('fails when a task was declared leaked, even once it has settled', async () => {
    const proxy = await startProxy({
      ...config(),
      tasks: { 'unified_cache/warm': { graceMs: 20 } },
    });
    const scope = proxy.app.supervisor.scope('unified_cache');
    let finish = (): void => undefined;
    // Ignores its signal: settles only when the test lets it, long after its grace period.
    const handle = scope.spawn(CACHE_WARM, () => new Promise<void>((r) => (finish = r)));
    cleanup = () => finish();
    handle.cancel();
    await new Promise((r) => setTimeout(r, 80));
    finish();
    await handle.settled;
    expect(proxy.app.supervisor.leakedTotal()).toBe(1);
    await expect(proxy.stop()).rejects.toThrow(/1 task\(s\) were declared leaked/);
  });
});
