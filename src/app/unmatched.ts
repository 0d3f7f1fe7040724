/**
 * What matches no route: a 404, or a 405 naming the methods a known path takes, answered in
 * the error shape of the API the path belongs to (Anthropic's under /v1/messages, where its
 * SDKs and Claude Code read errors; OpenAI's elsewhere). Pure functions over the mounted
 * routes; routes.ts answers with them.
 */
import type { ErrorShape } from '../http/respond.js';

/** A mounted route as Hono lists it (`hono.routes`): its method and path pattern. */
export interface MountedRoute {
  readonly method: string;
  readonly path: string;
}

/** Hono's pattern tokens: `:name`, `:name{regex}`, `*`, and literal text between them. */
const TOKEN = /:\w+(?:\{([^}]*)\})?|\*|[^:*]+/g;

/** The anchored regular expression of a Hono path pattern. */
function patternRegex(pattern: string): RegExp {
  const source = pattern.replace(TOKEN, (token: string, custom: string | undefined) => {
    if (token.startsWith(':')) return `(?:${custom ?? '[^/]+'})`;
    if (token === '*') return '.*';
    return token.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${source}$`);
}

/**
 * The methods of the routes whose pattern matches `path` (`/v1/responses/abc` matches
 * `/v1/responses/:id`), in mounting order, each once. Middleware (method ALL) is no route.
 * NOTE: patterns are compiled per call: this answers only requests that matched no route.
 */
export function allowedMethods(routes: readonly MountedRoute[], path: string): string[] {
  const allow = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL' || allow.has(route.method)) continue;
    if (route.path === path || patternRegex(route.path).test(path)) allow.add(route.method);
  }
  return [...allow];
}

/** The error shape of a path's API: Anthropic's for the Messages API's paths. */
export function errorShapeOf(path: string): ErrorShape {
  return path === '/v1/messages' || path.startsWith('/v1/messages/') ? 'anthropic' : 'openai';
}
