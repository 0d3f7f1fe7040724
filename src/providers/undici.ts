/**
 * The parts of undici the proxy uses: Pool and the error classes.
 *
 * NOTE: undici's index also loads fetch, WebSocket, EventSource, the cache stores and the
 * mock agents: ~9 MB resident (measured on 7.30) that a proxy only dispatching over pools
 * never uses. Both modules are loaded by their own paths (undici has no exports map, and
 * the version is pinned to ~7.30); the types are the index's, so a layout change fails the
 * build's tests, not silently.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const errors = require('undici/lib/core/errors.js') as typeof Undici.errors;
export type { Dispatcher } from 'undici';
