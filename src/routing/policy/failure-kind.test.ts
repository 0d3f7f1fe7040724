import { describe, expect, it } from 'vitest';
import {
  FAILURE_KINDS,
  classifyStatus,
  countsAgainstBreaker,
  isRetryable,
  type FailureKind,
} from './failure-kind.js';

// Records keyed by FailureKind: adding a kind without deciding its meaning fails to compile.
const COUNTS: Record<FailureKind, boolean> = {
  server_error: true,
  timeout: true,
  connection: true,
  invalid_response: true,
  rate_limited: false,
  client_error: false,
  cancelled: false,
};
const RETRYABLE: Record<FailureKind, boolean> = {
  server_error: true,
  timeout: true,
  connection: true,
  invalid_response: true,
  rate_limited: true,
  client_error: false,
  cancelled: false,
};

describe('countsAgainstBreaker', () => {
  it.each(FAILURE_KINDS)('%s', (kind) => {
    expect(countsAgainstBreaker(kind)).toBe(COUNTS[kind]);
  });
});

describe('isRetryable', () => {
  it.each(FAILURE_KINDS)('%s', (kind) => {
    expect(isRetryable(kind)).toBe(RETRYABLE[kind]);
  });
});

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
