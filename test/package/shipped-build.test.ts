/**
 * What the package ships: `files` is dist/, and dist/ is what tsconfig.build.json compiles.
 * The benchmarks and the soak are development tools; they build to their own directory.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/built-cli.js';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The project's own source files in a tsconfig's program, relative to the repository. */
async function sourcesOf(tsconfig: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [TSC, '-p', tsconfig, '--listFilesOnly'], {
    cwd: ROOT,
  });
  return stdout
    .split('\n')
    .filter((f) => f !== '' && !f.includes('node_modules'))
    .map((f) => relative(ROOT, f));
}

async function outDirOf(tsconfig: string): Promise<string> {
  const { stdout } = await run(process.execPath, [TSC, '-p', tsconfig, '--showConfig'], {
    cwd: ROOT,
  });
  const config = JSON.parse(stdout) as { compilerOptions: { outDir: string } };
  return relative(ROOT, join(ROOT, config.compilerOptions.outDir));
}

describe('the shipped build', () => {
  it('compiles the CLI and no benchmark code into dist/', async () => {
    expect(await outDirOf('tsconfig.build.json')).toBe('dist');
    const sources = await sourcesOf('tsconfig.build.json');
    expect(sources).toContain('src/cli/index.ts');
    expect(sources.filter((f) => f.startsWith('src/bench/'))).toEqual([]);
  });

  it('leaves the benchmarks to an out dir the package does not ship, running the built CLI', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      files: string[];
      scripts: Record<string, string>;
    };
    const benchOut = await outDirOf('tsconfig.bench.json');
    expect(pkg.files).toEqual(['dist']);
    expect(benchOut).not.toBe('dist');
    expect(benchOut.startsWith('dist/')).toBe(false);
    expect(await sourcesOf('tsconfig.bench.json')).toContain('src/bench/soak.ts');
    for (const name of ['bench', 'bench:tasks', 'bench:proxy', 'soak']) {
      expect(pkg.scripts[name]).toContain(`${benchOut}/bench/`);
      expect(pkg.scripts[name]).not.toContain('dist/bench/');
    }
  });
});
