/**
 * Two Authorization headers make a malformed request (the field is not a list) that Node
 * would read as its first only: whichever comes first, the proxy refuses it with a 400
 * rather than letting the order decide which key counts.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../support/proxy.js';

const GOOD = 'sk-proxy-good';
const ADMIN = 'admin-token-0123';
const SCRAPE = 'scrape-token-4567';
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

const CHAT = JSON.stringify({ model: 'demo-model', messages: [{ role: 'user', content: 'hi' }] });

/** Sends a raw request with these header lines; resolves with the status line and body. */
function raw(
  p: RunningProxy,
  headerLines: string[],
  requestLine = 'POST /v1/chat/completions',
  body = CHAT,
): Promise<string> {
  const { port } = new URL(p.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(
        [
          `${requestLine} HTTP/1.1`,
          'Host: x',
          'Connection: close',
          'Content-Type: application/json',
          `Content-Length: ${body.length}`,
          ...headerLines,
          '',
          body,
        ].join('\r\n'),
      ),
    );
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('repeated Authorization headers', () => {
  it('are refused with a 400 whichever key comes first', async () => {
    proxy = await startProxy({
      auth: { apiKeys: [GOOD] },
      providers: [{ name: 'demo', type: 'demo', models: ['demo-model'] }],
      routing: { healthCheck: { enabled: false } },
    });
    for (const lines of [
      [`Authorization: Bearer ${GOOD}`, 'Authorization: Bearer sk-wrong'],
      ['authorization: Bearer sk-wrong', `AUTHORIZATION: Bearer ${GOOD}`],
    ]) {
      const answer = await raw(proxy, lines);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('"code":"repeated_authorization"');
      expect(answer).not.toContain(GOOD);
    }
    // One header, as ever, is fine.
    expect(await raw(proxy, [`Authorization: Bearer ${GOOD}`])).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('are refused on the admin routes and a guarded /metrics too', async () => {
    proxy = await startProxy({
      auth: { adminToken: ADMIN, metricsToken: SCRAPE },
      providers: [{ name: 'demo', type: 'demo', models: ['demo-model'] }],
      routing: { healthCheck: { enabled: false } },
    });
    for (const [requestLine, token] of [
      ['GET /admin/tasks', ADMIN],
      ['POST /admin/drain', ADMIN],
      ['GET /metrics', SCRAPE],
    ] as const) {
      const answer = await raw(
        proxy,
        [`Authorization: Bearer ${token}`, 'Authorization: Bearer sk-wrong'],
        requestLine,
        '',
      );
      expect(answer, requestLine).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer, requestLine).toContain('"code":"repeated_authorization"');
      expect(answer, requestLine).not.toContain(token);
      expect(await raw(proxy, [`Authorization: Bearer ${token}`], requestLine, '')).toMatch(
        /^HTTP\/1\.1 200 /,
      );
    }
  });
});
