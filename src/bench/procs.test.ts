import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROXY_NODE_FLAGS } from './procs.js';

const root = join(import.meta.dirname, '..', '..');

describe('the node flags bench:proxy launches llm-proxy with', () => {
  it('are the ones npm start and the image use', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const nodeOptions = /NODE_OPTIONS=(\S+)/.exec(dockerfile)?.[1]?.split(',') ?? [];
    expect(PROXY_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of PROXY_NODE_FLAGS) {
      expect(pkg.scripts.start).toContain(`node ${flag} dist/cli/index.js`);
      expect(nodeOptions).toContain(flag);
    }
  });
});
