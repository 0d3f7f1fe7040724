import { describe, expect, it } from 'vitest';
import { demoConfig } from './defaults.js';

describe('demoConfig', () => {
  it('serves demo-model and demo-embed from one local demo provider', () => {
    expect(demoConfig().providers).toEqual([
      expect.objectContaining({
        name: 'demo',
        type: 'demo',
        models: ['demo-model', 'demo-embed'],
        enabled: true,
      }),
    ]);
  });

  it('is an open proxy with a memory-only cache and sequential routing on 127.0.0.1:8080', () => {
    const config = demoConfig();
    expect(config.auth.apiKeys).toEqual([]);
    expect(config.auth.adminToken).toBeUndefined();
    expect(config.cache.enabled).toBe(true);
    expect(config.cache.redis).toBeUndefined();
    expect(config.routing.mode).toBe('sequential');
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });

  it('returns a fresh object each time, so callers may adjust it', () => {
    const first = demoConfig();
    first.server.port = 1;
    expect(demoConfig().server.port).toBe(8080);
  });
});
