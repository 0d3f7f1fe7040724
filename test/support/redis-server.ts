/**
 * Starts a real redis-server on a free loopback port for one test file, so tests are isolated
 * and may kill and restart it. Fails loudly (never skips) when redis-server is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL, like a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): connections stay open and commands get no answer, as with
   * a Redis stalled by a long command or a paused VM. resume() (SIGCONT) lets it answer.
   */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

function redisBinary(): string {
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `redis-server not found (looked for "${bin}"). Install it (Debian/Ubuntu: apt-get install -y redis-server) ` +
        'or set REDIS_SERVER_BIN to its path. Tests that need Redis never skip.',
    );
  }
  return bin;
}

/** The process id of the redis-server answering on `port`, if one answers (INFO server). */
function pidOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write('INFO server\r\n'));
    sock.setTimeout(1_000, () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /process_id:(\d+)/.exec(text);
      if (m !== null) {
        sock.destroy();
        resolve(Number(m[1]));
      }
    });
    sock.on('error', () => resolve(undefined));
    sock.on('close', () => resolve(undefined));
  });
}

/**
 * Waits until `child` itself answers on `port`. NOTE: a port that was free when picked may be
 * taken by another test file's redis-server before this one binds it; this one then exits,
 * and a mere connect would succeed against the other (which that file may kill at any time).
 * False when the child exited instead.
 */
async function ownsPort(child: ChildProcess, port: number, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if ((await pidOn(port)) === child.pid) return true;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startRedis(): Promise<RedisServer> {
  const bin = redisBinary();
  let port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'llmp-redis-'));
  let child: ChildProcess | undefined;

  /** Starts redis-server on `port`; false when another process took the port first. */
  const launch = async (): Promise<boolean> => {
    const c = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    child = c;
    return ownsPort(c, port);
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
      // A paused server acts on SIGTERM only once continued (SIGKILL needs no help).
      c.kill('SIGCONT');
    });
  };

  for (let tries = 1; !(await launch()); tries++) {
    if (tries === 5) throw new Error('redis-server: every free port picked was taken first');
    port = await freePort();
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => halt('SIGKILL'),
    pause: () => {
      if (child?.pid === undefined || child.kill('SIGSTOP') !== true) {
        throw new Error('redis-server: not running, cannot pause it');
      }
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    restart: async () => {
      if (!(await launch())) throw new Error(`redis-server: port ${port} was taken meanwhile`);
    },
    stop: async () => {
      await halt('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
