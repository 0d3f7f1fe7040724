/**
 * Several proxies in one test process, standing for replicas. RunningProxy.stop() compares
 * the process's resources with those before THAT proxy started; another replica still
 * running holds keep-alive sockets opened since (client, server and upstream pool ends), so
 * stopping one while another runs would wait on the other's idle sockets. Replicas are
 * therefore shut down first and their stop() (drain, close, no-leak assertion) run after.
 */
import { vi } from 'vitest';
import type { RunningProxy } from '../support/proxy.js';

/** Drains and closes one replica now, as a replica going away would; its stop() comes later. */
export async function shutDown(p: RunningProxy): Promise<void> {
  p.server.stopAccepting();
  const summary = await p.app.close();
  await p.server.close();
  if (summary.leakedTotal > 0 || summary.activeTasks > 0) {
    throw new Error(`replica shut down with tasks left: ${JSON.stringify(summary)}`);
  }
}

/** Shuts every replica down, then runs each one's stop(): every leak check then applies. */
export async function stopReplicas(replicas: readonly RunningProxy[]): Promise<void> {
  for (const p of [...replicas].reverse()) await shutDown(p);
  for (const p of [...replicas].reverse()) await p.stop();
}

/**
 * vi.waitFor with a timeout fit for loaded CI machines (the default 1 s is not: Redis
 * connections and replica start-ups take longer when other suites run alongside).
 */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 20 });
}
