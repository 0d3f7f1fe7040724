import { describe, expect, it } from 'vitest';
import { RoutingFailure } from '../routing/failure.js';
import { statusError } from '../upstream/index.js';
import { routingError } from './routing-failure.js';

describe('routingError', () => {
  it('answers an exhausted race with its summary status, message and Retry-After', () => {
    const err = routingError(
      new RoutingFailure({
        kind: 'exhausted',
        summary: {
          status: 503,
          message: '1 provider failed: a: HTTP 429 (3 ms)',
          retryAfterSeconds: 2,
        },
        attempts: [],
      }),
    );
    expect(err.status).toBe(503);
    expect(err.toJSON()).toEqual({
      error: {
        message: '1 provider failed: a: HTTP 429 (3 ms)',
        type: 'server_error',
        param: null,
        code: 'upstream_failed',
      },
    });
    expect(err.headers()['retry-after']).toBe('2');
  });

  it('answers a request fault with the upstream status and its own message, code and param', () => {
    const body = {
      message: 'bad temperature',
      type: 'odd_type',
      param: 'temperature',
      code: 'bad',
    };
    const upstream = statusError(422, undefined, body);
    const err = routingError(
      new RoutingFailure({
        kind: 'request_fault',
        provider: 'a',
        fault: upstream.requestFault!,
        error: upstream,
      }),
    );
    expect(err.status).toBe(422);
    expect(err.toJSON()).toEqual({
      error: {
        message: 'bad temperature',
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'bad',
      },
    });
    expect(err.cause).toBe(upstream);
  });

  it('answers an unknown model as model_not_found on param model', () => {
    const err = routingError(new RoutingFailure({ kind: 'unknown_model', model: 'm' }));
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });
});
