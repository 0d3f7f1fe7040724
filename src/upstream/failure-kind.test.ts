import { describe, expect, it } from 'vitest';
import { classifyStatus } from './failure-kind.js';

describe('classifyStatus', () => {
  it.each([
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [599, 'server_error'],
    [504, 'timeout'],
    [408, 'timeout'],
    [429, 'rate_limited'],
    [400, 'client_error'],
    [401, 'client_error'],
    [404, 'client_error'],
    [422, 'client_error'],
    [499, 'client_error'],
  ] as const)('HTTP %i is %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });

  it.each([200, 302, 399, 600, 0, -1, Number.NaN])(
    'a non-error status (%d) is an invalid response',
    (status) => {
      expect(classifyStatus(status)).toBe('invalid_response');
    },
  );
});
