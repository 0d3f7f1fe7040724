/** Failures that are part of normal operation carry one typed mark, not a duck-typed flag. */
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../src/http/errors.js';
import { RoutingFailure } from '../../src/routing/failure.js';
import { EXPECTED_FAILURE, isExpectedFailure } from '../../src/tasks/index.js';
import { UpstreamError } from '../../src/upstream/index.js';

describe('isExpectedFailure', () => {
  it('is true for the errors the proxy expects: upstream, routing and client errors', () => {
    expect(isExpectedFailure(new UpstreamError('server_error', 'HTTP 500'))).toBe(true);
    expect(isExpectedFailure(new RoutingFailure({ kind: 'unknown_model', model: 'm' }))).toBe(true);
    expect(isExpectedFailure(new ProxyError(400, 'bad'))).toBe(true);
  });

  it('is false for anything else, including an ad-hoc `expected` property', () => {
    expect(isExpectedFailure(new Error('boom'))).toBe(false);
    expect(isExpectedFailure(Object.assign(new Error('x'), { expected: true }))).toBe(false);
    expect(isExpectedFailure({ [EXPECTED_FAILURE]: true })).toBe(false);
    expect(isExpectedFailure(undefined)).toBe(false);
  });
});
