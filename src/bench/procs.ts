/** Child processes for benchmarks: start, wait for their port, read their CPU time and RSS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * The built CLI (`llm-proxy`), as the package ships it: dist/cli/index.js. The benchmarks build
 * to dist-bench/ (tsconfig.bench.json), outside the package, so they start the shipped build
 * rather than a copy of their own; from dist-bench/bench/ and src/bench/ alike this is
 * <repository>/dist/cli/index.js.
 */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'index.js');

/** Benchmark waits are never cancelled: a signal nothing aborts. */
export const uncancelled = new AbortController().signal;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/**
 * Node flags llm-proxy runs with, as `npm start` and the image (NODE_OPTIONS) launch it: a
 * 4 MB semi-space instead of V8's default 16 MB. A test keeps the three in step.
 */
export const PROXY_NODE_FLAGS = ['--max-semi-space-size=4'];

export interface Proc {
  child: ChildProcess;
  /** User+system CPU seconds used so far. */
  cpuSeconds(): number;
  rssBytes(): number;
  stop(): Promise<void>;
}

const TICKS = 100; // CLK_TCK on Linux

/**
 * CPU time of every live thread of a process, in seconds, from each thread's schedstat
 * (nanoseconds on CPU). /proc/PID/stat counts in 10 ms ticks, too coarse for a phase of a
 * few hundred streams.
 */
function cpuSecondsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  if (ns > 0) return ns / 1e9;
  // No schedstat (a kernel without CONFIG_SCHED_INFO): user + system ticks from stat.
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

export async function startProc(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (ready.test(out)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    child,
    cpuSeconds: () => cpuSecondsOf(child.pid ?? 0),
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) *
      1024,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
