import { describe, expect, it } from 'vitest';
import { FAILURE_KINDS, type FailureKind } from '../../upstream/index.js';
import { countsAgainstBreaker, isRetryable } from './failure-kind.js';

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
