/** Serving an app over node:http (via @hono/node-server), and stopping it in order. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { App } from '../app.js';

export interface Listening {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections; idle keep-alive connections are closed now, busy ones when done. */
  stopAccepting(): void;
  /** Closes every remaining connection and resolves once the server is fully closed. */
  close(): Promise<void>;
}

export async function listen(app: App, host: string, port: number): Promise<Listening> {
  const server = createAdaptorServer({ fetch: app.hono.fetch }) as Server;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  };
  return {
    server,
    port: addr.port,
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stopAccepting,
    close: async () => {
      stopAccepting();
      server.closeAllConnections();
      await closed;
    },
  };
}
