import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { errors, Pool } from './undici.js';

describe('the lean undici imports', () => {
  it('are the same classes the package index exports', () => {
    expect(Pool).toBe(undici.Pool);
    expect(errors.RequestAbortedError).toBe(undici.errors.RequestAbortedError);
    expect(errors.HeadersTimeoutError).toBe(undici.errors.HeadersTimeoutError);
  });
});
