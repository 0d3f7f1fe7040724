// Typed lint: promises must be awaited or explicitly voided, and every timer goes through
// the spawner (src/tasks/), so nothing runs in the background unnamed and unaccounted.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const bareTimers = ['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({
  name,
  message: 'Use the spawner (src/tasks/): scope.spawn, every() or sleep(ms, signal).',
}));

/**
 * Each layer, bottom first, with the folders (or top-level files) in it. A file may import
 * the layers below its own; never one above, nor another folder of its own layer (so
 * providers/ and routing/ know each other only through upstream/). The composition root
 * (app.ts, over its parts in app/) and the CLI sit on top; bench/ is a tool beside them.
 */
export const LAYERS = [
  ['telemetry', 'json.ts', 'objects.ts', 'version.ts'],
  ['config', 'tasks'],
  ['upstream', 'cache', 'fake-upstream'],
  ['formats'],
  ['providers', 'routing', 'condense'],
  ['health'],
  ['http'],
  ['app'],
  ['app.ts'],
  ['cli', 'bench'],
];

/** no-restricted-paths zones: what each folder of a layer may not import. */
export function layerZones() {
  const at = (name) => `./src/${name}`;
  return LAYERS.flatMap((layer, i) => {
    const above = LAYERS.slice(i + 1).flat();
    return layer.flatMap((name) => {
      const banned = [...above, ...layer.filter((other) => other !== name)];
      if (banned.length === 0) return [];
      return [
        {
          target: at(name),
          from: banned.map(at),
          message: `${name} may import only the layers below its own (LAYERS, eslint.config.js).`,
        },
      ];
    });
  });
}

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', 'grafana/', 'prometheus/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Task bodies are async by contract even when they happen not to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-globals': ['error', ...bareTimers],
      'no-restricted-properties': [
        'error',
        ...bareTimers.map(({ name, message }) => ({
          object: 'globalThis',
          property: name,
          message,
        })),
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:timers', message: 'Timers go through src/tasks/.' },
            { name: 'node:timers/promises', message: 'Use sleep(ms, signal) from src/tasks/.' },
          ],
        },
      ],
    },
  },
  {
    // No import circles in src/: each module can be read (and loaded) after what it imports.
    // The TypeScript resolver maps our ESM `./x.js` specifiers to the `./x.ts` files.
    // NOTE: no-cycle skips type-only imports; test/architecture/import-cycles.test.ts counts them.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The layers (README, "The design in one page"): a request flows one way, from http/
    // through routing/ to providers/, over a leaf contract (upstream/); each folder imports
    // only the layers below it. Tests may import anything.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones() }] },
  },
  {
    // The spawner owns the process's timers; tests may drive time directly.
    files: ['src/tasks/**/*.ts', 'test/**/*.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-globals': 'off',
      'no-restricted-properties': 'off',
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
