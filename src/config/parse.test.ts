import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigProblem } from './errors.js';
import { parseConfig, validateConfig } from './parse.js';

const demo = { name: 'local', type: 'demo', models: ['demo-model'] };

/** The problems parseConfig throws for `raw` (fails the test if it does not throw). */
function problemsOf(raw: unknown, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    parseConfig(raw, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: defaults', () => {
  it('fills every section with its defaults from a single provider', () => {
    const config = parseConfig({ providers: [demo] }, {});
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 4 * 1024 * 1024,
      maxInFlight: 256,
      maxReceiving: 256,
      maxReceivingPerKey: 64,
      shutdownDeadlineMs: 15_000,
      receiveTimeoutMs: 30_000,
      requestTimeoutMs: 600_000,
      watchdog: { loops: ['health_checker/loop'], stalledIntervals: 3, leakedTasksThreshold: 0 },
      cors: { origins: [] },
    });
    expect(config.auth).toEqual({ apiKeys: [] });
    expect(config.routing.mode).toBe('sequential');
    expect(config.routing.retries).toEqual({ maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 2000 });
    expect(config.routing.breaker).toEqual({
      failureThreshold: 5,
      openMs: 30_000,
      halfOpenMaxTrials: 1,
    });
    expect(config.routing.healthCheck.intervalMs).toBe(15_000);
    expect(config.cache).toMatchObject({ enabled: true, ttlSeconds: 3600, maxBytes: 67_108_864 });
    expect(config.cache.warm).toEqual({ enabled: true, maxKeys: 500, timeoutMs: 2000 });
    expect(config.cache.redis).toBeUndefined();
    expect(config.condense).toEqual({
      keepRecent: 6,
      cacheMaxEntries: 1000,
      cacheTtlSeconds: 86_400,
      summaryClaimMs: 5_000,
      models: {},
    });
    expect(config.telemetry).toEqual({
      logLevel: 'info',
      captureSpawnStacks: false,
      serviceName: 'llm-proxy',
    });
    expect(config.tasks).toEqual({});
  });

  it('applies per-type provider defaults', () => {
    const config = parseConfig(
      {
        providers: [
          { name: 'o', type: 'openai', baseUrl: 'http://127.0.0.1:9001/v1/', models: ['m'] },
          { name: 'a', type: 'anthropic', models: ['claude'] },
          demo,
        ],
      },
      {},
    );
    const [openai, anthropic, local] = config.providers;
    expect(openai).toMatchObject({ priority: 10, timeoutMs: 30_000, enabled: true });
    expect(openai).toMatchObject({ maxConnections: 64, baseUrl: 'http://127.0.0.1:9001/v1' });
    expect(anthropic).toMatchObject({
      baseUrl: 'https://api.anthropic.com/v1',
      anthropicVersion: '2023-06-01',
      maxTokensDefault: 4096,
    });
    expect(local).toMatchObject({
      latencyMs: 20,
      failRate: 0,
      ignoreAbort: false,
      streamChunks: 8,
      embeddingDimensions: 16,
    });
  });

  it('defaults rateLimit.burst to requestsPerMinute and probe.kind to models', () => {
    const config = parseConfig(
      { auth: { rateLimit: { requestsPerMinute: 60 } }, providers: [{ ...demo, probe: {} }] },
      {},
    );
    expect(config.auth.rateLimit).toEqual({ requestsPerMinute: 60, burst: 60 });
    expect(config.providers[0]?.probe).toEqual({ kind: 'models' });
  });

  it('accepts numbers and booleans spelled as strings, as interpolation produces them', () => {
    const config = parseConfig(
      {
        server: { port: '${PORT:-9090}' },
        providers: [{ ...demo, enabled: '${ON}', failRate: '0.25' }],
      },
      { ON: 'true' },
    );
    expect(config.server.port).toBe(9090);
    expect(config.providers[0]).toMatchObject({ enabled: true, failRate: 0.25 });
  });

  it('treats a key with an empty YAML value (null) as absent', () => {
    const config = parseConfig({ server: null, auth: { adminToken: null }, providers: [demo] }, {});
    expect(config.server.port).toBe(8080);
    expect(config.auth).toEqual({ apiKeys: [] });
  });

  it('treats an empty adminToken or provider apiKey as absent (the safe side)', () => {
    const config = parseConfig(
      {
        auth: { adminToken: '${ADMIN_TOKEN:-}' },
        providers: [
          { name: 'o', type: 'openai', baseUrl: 'http://h/v1', models: ['m'], apiKey: '' },
        ],
      },
      {},
    );
    expect(config.auth.adminToken).toBeUndefined();
    expect(config.providers[0]).not.toHaveProperty('apiKey', '');
  });
});

describe('parseConfig: problems', () => {
  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf({
      server: { port: 70_000 },
      providers: [
        demo,
        { name: 'remote', type: 'openai', baseUrl: 'not a url', models: ['m'] },
        { name: 'Bad Name', type: 'demo', models: [], failRate: 2 },
      ],
      routing: { mode: 'random', maxParallel: 17 },
    });
    expect(problems.map((p) => p.path)).toEqual([
      'server.port',
      'providers[1].baseUrl',
      'providers[2].name',
      'providers[2].models',
      'providers[2].failRate',
      'routing.mode',
      'routing.maxParallel',
    ]);
    expect(problems[1]?.message).toMatch(/^Invalid URL/);
  });

  it('prints one line per problem in the error message', () => {
    let message = '';
    try {
      parseConfig({ providers: [demo, { ...demo, name: 'b', type: 'openai', baseUrl: 'x' }] }, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'invalid configuration (1 problem):',
      'providers[1].baseUrl: Invalid URL (expected http:// or https://)',
    ]);
  });

  it('carries a stable code', () => {
    expect(() => parseConfig({}, {})).toThrow(expect.objectContaining({ code: 'LLMP_ERR_CONFIG' }));
  });

  it('requires a non-empty providers list', () => {
    expect(problemsOf({})).toEqual([{ path: 'providers', message: 'required' }]);
    expect(problemsOf({ providers: [] })).toEqual([
      { path: 'providers', message: 'at least one provider is required' },
    ]);
  });

  it('rejects unknown keys at every level, suggesting the closest known key', () => {
    const problems = problemsOf({
      server: { prot: 1 },
      providers: [{ ...demo, latncyMs: 5, baseUrl: 'http://h' }],
      cache: { redis: { url: 'redis://h:6379', keyprefix: 'x' } },
      extras: {},
    });
    expect(problems).toEqual([
      { path: 'extras', message: 'unknown key' },
      { path: 'server.prot', message: 'unknown key (did you mean "port"?)' },
      { path: 'providers[0].latncyMs', message: 'unknown key (did you mean "latencyMs"?)' },
      { path: 'providers[0].baseUrl', message: 'unknown key' },
      { path: 'cache.redis.keyprefix', message: 'unknown key (did you mean "keyPrefix"?)' },
    ]);
  });

  it('names the provider types when type is missing or wrong', () => {
    expect(
      problemsOf({
        providers: [
          { name: 'a', models: ['m'] },
          { ...demo, type: 'gpt' },
        ],
      }),
    ).toEqual([
      { path: 'providers[0].type', message: 'required one of: openai, anthropic, demo' },
      { path: 'providers[1].type', message: 'must be one of: openai, anthropic, demo' },
    ]);
  });

  it('reports a duplicate provider name at the later entry, even beside other problems', () => {
    const problems = problemsOf({
      server: { port: -1 },
      providers: [demo, { ...demo, latencyMs: -5 }],
    });
    expect(problems).toContainEqual({
      path: 'providers[1].name',
      message: 'duplicate provider name "local" (first used at providers[0])',
    });
    expect(problems.map((p) => p.path)).toEqual([
      'server.port',
      'providers[1].latencyMs',
      'providers[1].name',
    ]);
  });

  it('reports a missing env var at its path, without a second "empty" complaint', () => {
    expect(problemsOf({ auth: { apiKeys: ['${PROXY_KEY}'] }, providers: [demo] })).toEqual([
      { path: 'auth.apiKeys[0]', message: 'environment variable PROXY_KEY is not set' },
    ]);
  });

  it('rejects an empty API key or metrics token: the env var was probably set empty', () => {
    expect(
      problemsOf(
        { auth: { apiKeys: ['${PROXY_KEY}'], metricsToken: '${M:-}' }, providers: [demo] },
        { PROXY_KEY: '' },
      ),
    ).toEqual([
      { path: 'auth.apiKeys[0]', message: 'empty key: is the env var set?' },
      { path: 'auth.metricsToken', message: 'empty token: is the env var set?' },
    ]);
  });

  it('requires at least one enabled provider', () => {
    expect(problemsOf({ providers: [{ ...demo, enabled: false }] })).toEqual([
      { path: 'providers', message: 'no enabled provider: routing needs at least one' },
    ]);
  });

  it('lets several providers serve one model (the fallback set)', () => {
    const config = parseConfig({ providers: [demo, { ...demo, name: 'backup' }] }, {});
    expect(config.providers.map((p) => p.name)).toEqual(['local', 'backup']);
  });

  it('requires a summarizer for every condensed model, served by an enabled provider', () => {
    const problems = problemsOf({
      providers: [demo, { ...demo, name: 'off', models: ['off-model'], enabled: false }],
      condense: {
        models: {
          'gpt-4o': { maxTokens: 1000 },
          'demo-model': { maxTokens: 1000, summarizerModel: 'off-model' },
        },
      },
    });
    expect(problems).toEqual([
      {
        path: 'condense.models["gpt-4o"].summarizerModel',
        message: 'required: no summarizer model here nor at condense.summarizerModel',
      },
      {
        path: 'condense.models["demo-model"].summarizerModel',
        message: 'summarizer model "off-model" is not served by any enabled provider',
      },
    ]);
  });

  it('accepts condensed models that inherit the top-level summarizer', () => {
    const config = parseConfig(
      {
        providers: [demo],
        condense: { summarizerModel: 'demo-model', models: { big: { maxTokens: 8000 } } },
      },
      {},
    );
    expect(config.condense.models['big']).toEqual({ maxTokens: 8000, onFailure: 'truncate' });
  });

  it('requires probe.model when the probe kind is completion', () => {
    expect(problemsOf({ providers: [{ ...demo, probe: { kind: 'completion' } }] })).toEqual([
      { path: 'providers[0].probe.model', message: 'required when kind is completion' },
    ]);
  });

  it('checks task override keys and values', () => {
    const config = parseConfig(
      { providers: [demo], tasks: { 'http/request': { graceMs: 0, maxConcurrent: 10 } } },
      {},
    );
    expect(config.tasks['http/request']).toEqual({ graceMs: 0, maxConcurrent: 10 });
    expect(problemsOf({ providers: [demo], tasks: { Http: {}, 'a/b': { graceMs: -1 } } })).toEqual([
      {
        path: 'tasks.Http',
        message: 'task keys are "owner/task" in snake_case, e.g. http/request',
      },
      { path: 'tasks["a/b"].graceMs', message: 'Too small: expected number to be >=0' },
    ]);
  });

  it('checks the watchdog: loops named owner/task, k >= 1, leak threshold >= 0', () => {
    const watchdog = {
      loops: ['unified_cache/cleanup'],
      stalledIntervals: 5,
      leakedTasksThreshold: 2,
    };
    expect(parseConfig({ providers: [demo], server: { watchdog } }, {}).server.watchdog).toEqual(
      watchdog,
    );
    expect(
      problemsOf({
        providers: [demo],
        server: {
          watchdog: { loops: ['health loop'], stalledIntervals: 0, leakedTasksThreshold: -1 },
        },
      }),
    ).toEqual([
      {
        path: 'server.watchdog.loops[0]',
        message: 'loops are "owner/task" in snake_case, e.g. health_checker/loop',
      },
      { path: 'server.watchdog.stalledIntervals', message: 'Too small: expected number to be >=1' },
      {
        path: 'server.watchdog.leakedTasksThreshold',
        message: 'Too small: expected number to be >=0',
      },
    ]);
  });

  it('checks ordering rules between related numbers', () => {
    const problems = problemsOf({
      providers: [demo],
      routing: {
        retries: { baseDelayMs: 500, maxDelayMs: 100 },
        healthCheck: { intervalMs: 1000, timeoutMs: 2000 },
      },
    });
    expect(problems).toEqual([
      { path: 'routing.retries.maxDelayMs', message: 'must be >= baseDelayMs' },
      { path: 'routing.healthCheck.timeoutMs', message: 'must be <= intervalMs' },
    ]);
  });

  it('accepts only redis:// or rediss:// cache URLs and http(s) origins for CORS', () => {
    expect(
      problemsOf({
        providers: [demo],
        server: { cors: { origins: ['*', 'https://app.example', 'app.example'] } },
        cache: { redis: { url: 'http://127.0.0.1:6379' } },
      }),
    ).toEqual([
      {
        path: 'server.cors.origins[2]',
        message: 'must be "*" or an origin like https://app.example',
      },
      { path: 'cache.redis.url', message: 'Invalid URL (expected redis:// or rediss://)' },
    ]);
  });

  it('never echoes a secret value in a problem', () => {
    const secret = 'sk-live-1234567890';
    const problems = problemsOf(
      {
        auth: { apiKeys: [42], adminToken: ['${S}'] },
        providers: [{ ...demo, type: '${S}', apiKey: '${S}' }],
      },
      { S: secret },
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toContain(secret);
  });
});

describe('parseConfig: a provider whose type is wrong', () => {
  const TYPES = 'openai, anthropic, demo';

  it('still reports the problems of the fields every type shares, with their paths', () => {
    expect(problemsOf({ providers: [{ type: 'opneai', name: 'Bad Name', models: [] }] })).toEqual([
      { path: 'providers[0].type', message: `must be one of: ${TYPES}` },
      { path: 'providers[0].name', message: 'must match ^[a-z0-9_-]+$ (it is a metric label)' },
      { path: 'providers[0].models', message: 'must list at least one model id' },
    ]);
  });

  it('checks every shared field, and says "required" when type and name are both missing', () => {
    const problems = problemsOf({
      providers: [
        demo,
        {
          type: 'opneai',
          name: 'ok',
          models: ['m', ''],
          priority: -1,
          timeoutMs: 'soon',
          enabled: 'yes',
          maxConnections: 0,
          headers: { 'Bad Header': 'x' },
          probe: { kind: 'completion' },
        },
        { models: ['m'] },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      'providers[1].type',
      'providers[1].models[1]',
      'providers[1].priority',
      'providers[1].timeoutMs',
      'providers[1].enabled',
      'providers[1].maxConnections',
      'providers[1].headers["Bad Header"]',
      'providers[1].probe.model',
      'providers[2].type',
      'providers[2].name',
    ]);
    expect(problems).toContainEqual({ path: 'providers[2].name', message: 'required' });
    expect(problems).toContainEqual({
      path: 'providers[2].type',
      message: `required one of: ${TYPES}`,
    });
  });

  it('calls unknown only the keys no provider type accepts, suggesting across all types', () => {
    expect(
      problemsOf({
        providers: [
          {
            type: 'opneai',
            name: 'x',
            models: ['m'],
            baseUrl: 'http://h/v1',
            anthropicVersion: '2023-06-01',
            latencyMs: 5,
            latncyMs: 5,
            colour: 'red',
          },
        ],
      }),
    ).toEqual([
      { path: 'providers[0].type', message: `must be one of: ${TYPES}` },
      { path: 'providers[0].latncyMs', message: 'unknown key (did you mean "latencyMs"?)' },
      { path: 'providers[0].colour', message: 'unknown key' },
    ]);
  });

  it('keeps the cross-checks sound beside a provider that failed validation', () => {
    expect(
      problemsOf({
        providers: [
          { ...demo, enabled: false },
          { ...demo, type: 'opneai' },
          null,
          'demo',
          { type: 'opneai', name: 42, models: 'm' },
        ],
        condense: { summarizerModel: 'not-served', models: { big: { maxTokens: 100 } } },
      }),
    ).toEqual([
      { path: 'providers[1].type', message: `must be one of: ${TYPES}` },
      {
        path: 'providers[1].name',
        message: 'duplicate provider name "local" (first used at providers[0])',
      },
      { path: 'providers[2]', message: 'Invalid input: expected object, received null' },
      { path: 'providers[3]', message: 'Invalid input: expected object, received string' },
      { path: 'providers[4].type', message: `must be one of: ${TYPES}` },
      { path: 'providers[4].name', message: 'Invalid input: expected string, received number' },
      { path: 'providers[4].models', message: 'Invalid input: expected array, received string' },
    ]);
  });
});

describe('validateConfig', () => {
  it('returns problems instead of throwing', () => {
    const result = validateConfig({ providers: 'none' });
    expect(result).toEqual({
      ok: false,
      problems: [{ path: 'providers', message: 'Invalid input: expected array, received string' }],
    });
  });
});
