/**
 * The layers go one way, and lint says so: the zones eslint.config.js builds from its LAYERS
 * refuse an import from a lower layer into a higher one, and between two folders of one
 * layer (providers/ and routing/ meet only in upstream/). Each case lints a probe file placed
 * in a real folder, importing a real module, with only the layer rule on.
 */
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: the lint config is plain JavaScript, without type declarations.
import { layerZones as untypedZones } from '../../eslint.config.js';

const ROOT = resolve(import.meta.dirname, '../..');
const layerZones = untypedZones as () => unknown[];

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { 'import-x': importX },
      settings: {
        'import-x/extensions': ['.ts', '.js'],
        'import-x/resolver-next': [createTypeScriptImportResolver()],
      },
      rules: {
        'import-x/no-restricted-paths': ['error', { zones: layerZones() }],
      },
    },
  ],
});

/** The layer rule's messages for `from` importing `specifier` (relative to `from`). */
async function violations(from: string, specifier: string): Promise<string[]> {
  const code = `import * as probe from '${specifier}';\nexport { probe };\n`;
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, from) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'import-x/no-restricted-paths')
    .map((m) => m.message);
}

describe('the layers (eslint.config.js)', () => {
  it.each([
    ['src/routing/probe.ts', '../http/errors.js'],
    ['src/providers/probe.ts', '../http/errors.js'],
    ['src/providers/openai/probe.ts', '../../routing/engine.js'],
    ['src/routing/probe.ts', '../providers/index.js'],
    ['src/upstream/probe.ts', '../providers/index.js'],
    ['src/tasks/probe.ts', '../upstream/index.js'],
    ['src/telemetry/probe.ts', '../tasks/index.js'],
    ['src/http/probe.ts', '../app.js'],
    ['src/http/probe.ts', '../app/components.js'],
    ['src/app/probe.ts', '../app.js'],
    ['src/condense/probe.ts', '../routing/engine.js'],
    ['src/formats/probe.ts', '../providers/index.js'],
    ['src/upstream/probe.ts', '../formats/messages/index.js'],
  ])('refuses %s importing %s', async (from, specifier) => {
    expect(await violations(from, specifier)).toEqual([
      expect.stringContaining('may import only the layers below its own'),
    ]);
  });

  it.each([
    ['src/http/probe.ts', '../routing/engine.js'],
    ['src/routing/probe.ts', '../upstream/index.js'],
    ['src/providers/probe.ts', '../upstream/index.js'],
    ['src/upstream/probe.ts', '../tasks/index.js'],
    ['src/cli/probe.ts', '../app.js'],
    ['src/app.ts', './app/components.js'],
    ['src/app/probe.ts', '../http/routes/ops.js'],
    ['src/formats/probe.ts', '../upstream/index.js'],
    ['src/providers/probe.ts', '../formats/messages/index.js'],
    ['src/http/probe.ts', '../formats/messages/index.js'],
  ])('lets %s import %s, a layer below', async (from, specifier) => {
    expect(await violations(from, specifier)).toEqual([]);
  });
});
