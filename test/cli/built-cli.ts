/**
 * The built command (dist/cli/index.js), for tests that run `llm-proxy` as a real process.
 * `ensureBuilt()` compiles once when any source is newer than the build; a lock directory
 * keeps test files running in parallel workers from compiling over each other.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'index.js');

const LOCK = join(
  tmpdir(),
  `llm-proxy-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const STALE_LOCK_MS = 120_000;

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newestSource(): number {
  let newest = Math.max(
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => mtime(join(ROOT, f))),
  );
  for (const entry of readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) {
      newest = Math.max(newest, mtime(join(ROOT, 'src', entry)));
    }
  }
  return newest;
}

const isStale = (): boolean => mtime(CLI) < newestSource();

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A crashed run leaves its lock behind: take it over once it is clearly abandoned.
      if (Date.now() - mtime(LOCK) > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds dist/ with tsc when it is older than src/. Type errors do not stop tsc from
 * emitting (they are the typecheck's business), so only a missing or still-stale output fails.
 */
export async function ensureBuilt(): Promise<string> {
  if (!isStale()) return CLI;
  return withLock(async () => {
    if (!isStale()) return CLI;
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const output = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        [tsc, '-p', 'tsconfig.build.json'],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
        (_err, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
    });
    if (isStale()) throw new Error(`npm run build did not produce a fresh ${CLI}:\n${output}`);
    return CLI;
  });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/index.js ...args` to completion, without blocking this event loop. */
export function runCli(
  args: readonly string[],
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * This process's environment minus what would change how the proxy under test starts
 * (HOST/PORT overrides, a config path, OTel exporters, a check-leaks token).
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(HOST|PORT|LLM_PROXY_.*|OTEL_.*)$/.test(k)) continue;
    env[k] = v;
  }
  return env;
}
