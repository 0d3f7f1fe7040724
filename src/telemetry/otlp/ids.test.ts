import { isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { pooledIds } from './ids.js';

describe('pooled trace and span ids', () => {
  it('are valid W3C ids, lowercase hex, and do not repeat across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const traceId = pooledIds.generateTraceId();
      const spanId = pooledIds.generateSpanId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(isValidTraceId(traceId) && isValidSpanId(spanId)).toBe(true);
      seen.add(traceId).add(spanId);
    }
    expect(seen.size).toBe(4000);
  });
});
