import { describe, expect, it } from 'vitest';
import { clientRequestId, generateRequestId, MAX_CLIENT_REQUEST_ID } from './request-id.js';

describe('generateRequestId', () => {
  it('gives distinct ids sharing one random per-process prefix', () => {
    const ids = Array.from({ length: 1000 }, generateRequestId);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{12}_[0-9a-z]+$/);
    expect(new Set(ids.map((id) => id.slice(0, 17))).size).toBe(1);
  });
});

describe('clientRequestId', () => {
  it('takes a UUID, a ULID and prefixed ids', () => {
    for (const id of [
      '3f2b8a52-8a43-4c1e-9f0e-0d5d7a8b9c10',
      '01J9Z8X7W6V5T4S3R2Q1P0N9M8',
      'req_abc.def:1/2+3=',
    ])
      expect(clientRequestId({ 'x-request-id': id })).toBe(id);
  });

  it('ignores an empty, overlong or unsafe id', () => {
    for (const id of ['', 'a'.repeat(MAX_CLIENT_REQUEST_ID + 1), 'a b', 'x"y', 'a\u00e9', 'a;b'])
      expect(clientRequestId({ 'x-request-id': id })).toBeUndefined();
    expect(clientRequestId({ 'x-request-id': 'a'.repeat(MAX_CLIENT_REQUEST_ID) })).toHaveLength(
      MAX_CLIENT_REQUEST_ID,
    );
  });

  it('ignores a missing header', () => {
    expect(clientRequestId({})).toBeUndefined();
  });
});
