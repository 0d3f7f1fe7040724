import { describe, expect, it } from 'vitest';
import { allowedMethods, errorShapeOf } from './unmatched.js';

const ROUTES = [
  { method: 'ALL', path: '/v1/*' },
  { method: 'POST', path: '/v1/messages' },
  { method: 'POST', path: '/v1/messages/count_tokens' },
  { method: 'GET', path: '/v1/responses/:id/input_items' },
  { method: 'GET', path: '/v1/responses/:id' },
  { method: 'DELETE', path: '/v1/responses/:id' },
  { method: 'GET', path: '/v1/models/:id{.+}' },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/healthz' },
];

describe('allowedMethods', () => {
  it('lists the methods of a literal path, middleware (ALL) aside', () => {
    expect(allowedMethods(ROUTES, '/v1/messages')).toEqual(['POST']);
    expect(allowedMethods(ROUTES, '/healthz')).toEqual(['GET']);
  });

  it('matches parameters as Hono does: one segment, or the given regex', () => {
    expect(allowedMethods(ROUTES, '/v1/responses/resp_1')).toEqual(['GET', 'DELETE']);
    expect(allowedMethods(ROUTES, '/v1/responses/resp_1/input_items')).toEqual(['GET']);
    expect(allowedMethods(ROUTES, '/v1/models/org/model')).toEqual(['GET']);
    expect(allowedMethods(ROUTES, '/v1/responses/a/b')).toEqual([]);
  });

  it('finds nothing for an unknown path, a trailing slash or a near miss', () => {
    for (const path of ['/v1/messages/', '/v1/messagesx', '/v1/responses', '/v1/models/', '/'])
      expect(allowedMethods(ROUTES, path)).toEqual([]);
  });

  it('reads literal text literally (a dot is no wildcard)', () => {
    const routes = [{ method: 'GET', path: '/a.b' }];
    expect(allowedMethods(routes, '/a.b')).toEqual(['GET']);
    expect(allowedMethods(routes, '/aXb')).toEqual([]);
  });
});

describe('errorShapeOf', () => {
  it("answers the Messages API's paths in Anthropic's shape, every other in OpenAI's", () => {
    expect(errorShapeOf('/v1/messages')).toBe('anthropic');
    expect(errorShapeOf('/v1/messages/count_tokens')).toBe('anthropic');
    expect(errorShapeOf('/v1/messages/x')).toBe('anthropic');
    expect(errorShapeOf('/v1/messagesx')).toBe('openai');
    expect(errorShapeOf('/v1/responses/x')).toBe('openai');
    expect(errorShapeOf('/nope')).toBe('openai');
  });
});
