/**
 * CORS for the proxy API (/v1/*), off unless `server.cors.origins` lists origins: with none
 * configured no route sends an Access-Control-* header, so browsers keep other sites out.
 * Admin and ops routes never take part.
 *
 * Hono's cors middleware answers preflights and decorates routes that return a Response.
 * Proxied routes write straight to the Node response instead, so the headers the middleware
 * prepared are also set on it before the route runs (writeHead merges them).
 */
import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** Response headers a browser client may read (the proxy's own, and Retry-After). */
export const CORS_EXPOSE_HEADERS = [
  'x-llm-proxy-provider',
  'x-llm-proxy-cache',
  'x-llm-proxy-condensed',
  'x-llm-proxy-truncated',
  'retry-after',
  'x-request-id',
];

/**
 * `origins`: exact origins, or '*'. Request headers asked for in a preflight are allowed as
 * asked (the SDKs send several x-stainless-* headers); what guards the API is the key.
 */
export function corsMiddleware(
  origins: readonly string[],
): MiddlewareHandler<{ Bindings: HttpBindings }> {
  const wildcard = origins.includes('*');
  const inner = cors({
    origin: wildcard ? '*' : [...origins],
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
  return (c, next) =>
    inner(c, async () => {
      const out = c.env.outgoing;
      c.res.headers.forEach((value, name) => out.setHeader(name, value));
      // The answer depends on Origin (allowed or not), so caches must key on it.
      if (!wildcard) out.setHeader('vary', 'Origin');
      await next();
    });
}
