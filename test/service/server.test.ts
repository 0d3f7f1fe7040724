/**
 * Stopping the listener (the first step of SIGTERM): new connections are refused, idle
 * keep-alive connections close at once, and busy ones close as soon as their response is
 * done, so no connection outlives the drain waiting for keepAliveTimeout.
 */
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

function post(
  url: string,
  agent: Agent,
  content: string,
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/chat/completions`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content }] }));
  });
}

describe('stopAccepting', () => {
  it('closes a busy keep-alive connection once its response is done', async () => {
    proxy = await startProxy({
      providers: [{ name: 'demo', type: 'demo', models: ['demo-model'], latencyMs: 300 }],
      routing: { healthCheck: { enabled: false } },
    });
    const agent = new Agent({ keepAlive: true });
    try {
      const serverClosed = new Promise<number>((resolve) =>
        proxy!.server.server.once('close', () => resolve(Date.now())),
      );
      const answer = post(proxy.url, agent, 'in flight');
      await new Promise((r) => setTimeout(r, 100));
      const stoppedAt = Date.now();
      proxy.server.stopAccepting();

      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body).toContain('in flight');
      // Closed by the server right after the response, not after keepAliveTimeout (5 s).
      expect((await serverClosed) - stoppedAt).toBeLessThan(1_000);
      // The client sees the connection end too, so it won't send anything more on it.
      for (let i = 0; i < 50 && Object.values(agent.freeSockets).flat().length > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(0);
    } finally {
      agent.destroy();
    }
  });
});
