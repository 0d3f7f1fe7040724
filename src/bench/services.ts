/**
 * What bench:proxy stands up besides the fake upstream and the floor: llm-proxy itself (one
 * config per instance, written to a temporary directory), an OTLP sink that accepts spans and
 * keeps only their count, and a throwaway redis-server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Target } from './load.js';
import { countOtlpSpans } from './otlp-spans.js';
import { CLI, freePort, PROXY_NODE_FLAGS, startProc, uncancelled, type Proc } from './procs.js';
import { sleep } from '../tasks/timers.js';

let configDir: string | undefined;

/** An OTLP/HTTP receiver; `serverSpans` counts the SERVER spans (one per request) received. */
export interface OtlpSink {
  url: string;
  serverSpans(): number;
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP receiver that answers every export with success and keeps only a count of the
 * SERVER spans, so bench:proxy can wait until a traced proxy has exported every request's span.
 */
export async function otlpSink(): Promise<OtlpSink> {
  let server = 0;
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        server += countOtlpSpans(body, req.headers['content-type']).server;
      } catch {
        // Unreadable: counted as nothing, so a settle waits out its timeout instead.
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    serverSpans: () => server,
    close: () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/**
 * llm-proxy with one OpenAI-compatible provider at `upstream`, plus `extra` YAML; `cli` is
 * another build's dist/cli/index.js for an A/B.
 */
export async function llmProxy(
  upstream: string,
  extra: string,
  env: NodeJS.ProcessEnv,
  cli = CLI,
): Promise<{ proc: Proc; target: Target }> {
  const port = await freePort();
  configDir ??= mkdtempSync(join(tmpdir(), 'llmp-bench-'));
  const file = join(configDir, `proxy-${port}.yaml`);
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: ${port}, maxInFlight: 4096 }
auth: { apiKeys: [bench-key] }
providers:
  - { name: upstream, type: openai, baseUrl: "${upstream}/v1", models: [gpt-4o-mini], maxConnections: 64 }
telemetry: { logLevel: info }
${extra}`,
  );
  const proc = await startProc(
    [...PROXY_NODE_FLAGS, cli, '--config', file],
    /llm-proxy listening/,
    {
      ...env,
      LOG_LEVEL: 'warn',
    },
  );
  return {
    proc,
    target: {
      name: 'llm-proxy',
      url: `http://127.0.0.1:${port}`,
      headers: { authorization: 'Bearer bench-key' },
    },
  };
}

/** A redis-server without persistence on a free port. */
export async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await sleep(300, uncancelled);
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
