/**
 * The embedded default used when no config file is given: `npm start` works with no file
 * and no external services. One local demo provider, open auth, memory-only cache.
 */
import { parseConfig } from './parse.js';
import type { Config } from './schema.js';

/** The demo configuration as a user would write it (everything else is a default). */
export function demoConfigInput(): Record<string, unknown> {
  return {
    providers: [{ name: 'demo', type: 'demo', models: ['demo-model', 'demo-embed'] }],
  };
}

/** The validated demo configuration, with every default applied. */
export function demoConfig(): Config {
  return parseConfig(demoConfigInput(), {}, 'built-in demo configuration');
}
