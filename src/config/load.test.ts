import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoConfig } from './defaults.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { loadConfig } from './load.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-proxy-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function loadProblems(options: Parameters<typeof loadConfig>[0]): ConfigProblem[] {
  try {
    loadConfig(options);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const MINIMAL = `
providers:
  - name: local
    type: demo
    models: [demo-model]
`;

/** The lines of the ConfigError loading `path` (with no environment) throws. */
function problemLines(path: string): string[] {
  try {
    loadConfig({ file: path, env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
  throw new Error(`${path} loaded without a problem`);
}

describe('loadConfig', () => {
  it('loads the full example of docs/configuration.md', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const example = /## Full example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    const env = { PROXY_KEY: 'pk', ADMIN_TOKEN: 'at', OPENAI_API_KEY: 'sk' };

    const config = loadConfig({ file: file('full.yaml', example ?? ''), env });

    expect(config.auth).toEqual({
      apiKeys: ['pk'],
      adminToken: 'at',
      metricsToken: 'scrape-me',
      rateLimit: { requestsPerMinute: 600, burst: 100 },
    });
    expect(config.providers.map((p) => `${p.type}:${p.name}`)).toEqual([
      'openai:primary',
      'anthropic:claude',
      'demo:local',
    ]);
    expect(config.providers[0]).toMatchObject({
      apiKey: 'sk',
      baseUrl: 'http://127.0.0.1:9001/v1',
    });
    expect(config.providers[1]?.probe).toEqual({
      kind: 'completion',
      model: 'claude-3-5-haiku-latest',
    });
    expect(config.routing.mode).toBe('hedged');
    expect(config.cache.redis?.url).toBe('redis://127.0.0.1:6379');
    expect(config.condense.models['demo-model']?.onFailure).toBe('error');
    expect(config.tasks['unified_cache/redis_write']).toEqual({ graceMs: 5000, maxConcurrent: 64 });
  });

  it('reports the example of the docs with its missing env vars, each at its path', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const example = /## Full example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
    expect(loadProblems({ file: file('full.yaml', example), env: {} })).toEqual([
      { path: 'auth.apiKeys[0]', message: 'environment variable PROXY_KEY is not set' },
      { path: 'auth.adminToken', message: 'environment variable ADMIN_TOKEN is not set' },
      { path: 'providers[0].apiKey', message: 'environment variable OPENAI_API_KEY is not set' },
    ]);
  });

  it('applies defaults to a minimal file', () => {
    const config = loadConfig({ file: file('min.yaml', MINIMAL), env: {} });
    expect(config.server.port).toBe(8080);
    expect(config.providers[0]).toMatchObject({ name: 'local', priority: 10, latencyMs: 20 });
  });

  it('lets HOST and PORT override server.host and server.port', () => {
    const path = file('c.yaml', `server: { host: 0.0.0.0, port: 1234 }\n${MINIMAL}`);
    const config = loadConfig({ file: path, env: { HOST: '::1', PORT: '4321' } });
    expect(config.server).toMatchObject({ host: '::1', port: 4321 });
    expect(loadConfig({ file: path, env: { PORT: '' } }).server.port).toBe(1234);
  });

  it('reports a bad PORT as server.port, naming the variable', () => {
    expect(loadProblems({ file: file('c.yaml', MINIMAL), env: { PORT: 'http' } })).toEqual([
      {
        path: 'server.port',
        message: 'Invalid input: expected number, received string (from env PORT)',
      },
    ]);
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const path = file('bad.yaml', 'server:\n  port: 8080\n  host: a: b\nproviders: []\n');
    expect(loadProblems({ file: path, env: {} })).toEqual([
      { path: `${path}:3:9`, message: 'Nested mappings are not allowed in compact mappings' },
    ]);
  });

  it('reports a duplicate YAML key as a syntax error with its line', () => {
    const path = file('dup.yaml', `server:\n  port: 1\n  port: 2\n${MINIMAL}`);
    const problems = loadProblems({ file: path, env: {} });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe(`${path}:3:3`);
    expect(problems[0]?.message).toMatch(/unique/i);
  });

  it('reports every problem of a file in one error, one line each', () => {
    const path = file(
      'many.yaml',
      `server: { prot: 80 }
auth: { apiKeys: ["\${PROXY_KEY}"] }
providers:
  - { name: a, type: demo, models: [m] }
  - { name: a, type: openai, baseUrl: nope, models: [m] }
`,
    );
    expect(problemLines(path)).toEqual([
      `invalid configuration ${path} (4 problems):`,
      'server.prot: unknown key (did you mean "port"?)',
      'auth.apiKeys[0]: environment variable PROXY_KEY is not set',
      'providers[1].baseUrl: Invalid URL (expected http:// or https://)',
      'providers[1].name: duplicate provider name "a" (first used at providers[0])',
    ]);
  });

  it('reports the shared fields of a provider whose type is misspelt, beside the type', () => {
    const path = file(
      'type.yaml',
      `providers:
  - name: Bad Name
    type: opneai
    baseUrl: http://127.0.0.1:9001/v1
    models: []
    timeoutMs: soon
`,
    );
    expect(problemLines(path)).toEqual([
      `invalid configuration ${path} (4 problems):`,
      'providers[0].type: must be one of: openai, anthropic, demo',
      'providers[0].name: must match ^[a-z0-9_-]+$ (it is a metric label)',
      'providers[0].models: must list at least one model id',
      'providers[0].timeoutMs: Invalid input: expected number, received string',
    ]);
  });

  it('treats an empty file as an empty mapping, so providers are reported missing', () => {
    expect(loadProblems({ file: file('empty.yaml', ''), env: {} })).toEqual([
      { path: 'providers', message: 'required' },
    ]);
  });

  it('reports a file that cannot be read', () => {
    const path = join(dir, 'absent.yaml');
    expect(loadProblems({ file: path, env: {} })).toEqual([
      { path, message: 'cannot read the file (ENOENT)' },
    ]);
  });

  it('reads the file named by LLM_PROXY_CONFIG when no file is given', () => {
    const path = file('env.yaml', MINIMAL.replace('local', 'from-env'));
    const config = loadConfig({ env: { LLM_PROXY_CONFIG: path } });
    expect(config.providers.map((p) => p.name)).toEqual(['from-env']);
  });

  it('prefers an explicit file over LLM_PROXY_CONFIG', () => {
    const explicit = file('explicit.yaml', MINIMAL.replace('local', 'explicit'));
    const config = loadConfig({
      file: explicit,
      env: { LLM_PROXY_CONFIG: join(dir, 'nope.yaml') },
    });
    expect(config.providers.map((p) => p.name)).toEqual(['explicit']);
  });

  it('uses the built-in demo configuration when there is no file at all', () => {
    expect(loadConfig({ env: {} })).toEqual(demoConfig());
    expect(loadConfig({ env: { LLM_PROXY_CONFIG: '' } })).toEqual(demoConfig());
  });

  it('applies PORT to the demo configuration too', () => {
    expect(loadConfig({ env: { PORT: '0' } }).server.port).toBe(0);
  });
});
