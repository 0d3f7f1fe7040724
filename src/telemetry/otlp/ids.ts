/**
 * Trace and span ids for the SDK (its IdGenerator interface), cheaper than its
 * RandomIdGenerator. NOTE: that one calls Math.random per 4 bytes and Buffer#toString('hex')
 * per id, a native call each time (~0.3 us an id, three ids a request). Here one
 * crypto.randomFillSync + toString('hex') makes the hex of 256 span ids at once, and each id
 * is a substring of it (V8 makes that a slice, not a copy). Still random (crypto-quality),
 * lowercase hex, and never all zeros (W3C: an all-zero id is invalid).
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 2048;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let hex = '';
let at = 0;

function take(chars: number): string {
  if (at + chars > hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    at = 0;
  }
  const id = hex.substring(at, at + chars);
  at += chars;
  return id;
}

const ZERO_SPAN = '0'.repeat(16);
const ZERO_TRACE = '0'.repeat(32);

/** An IdGenerator (see @opentelemetry/sdk-trace-base) for `NodeSDK({ idGenerator })`. */
export const pooledIds = {
  generateTraceId(): string {
    const id = take(32);
    return id === ZERO_TRACE ? `${ZERO_TRACE.slice(1)}1` : id;
  },
  generateSpanId(): string {
    const id = take(16);
    return id === ZERO_SPAN ? `${ZERO_SPAN.slice(1)}1` : id;
  },
};
