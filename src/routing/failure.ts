/**
 * Why the fallback engine has no answer for a request, as data: routing says what happened,
 * and only http/ decides what the client hears (http/routing-failure.ts).
 */
import { EXPECTED_FAILURE } from '../tasks/errors.js';
import type { RequestFault, UpstreamError } from '../upstream/index.js';
import type { AttemptRecord, FailureSummary } from './policy/index.js';

export type RoutingFailureReason =
  /** No enabled provider serves the model. */
  | { kind: 'unknown_model'; model: string }
  /** An upstream refused the request as the request's own fault; no other was asked. */
  | { kind: 'request_fault'; provider: string; fault: RequestFault; error: UpstreamError }
  /**
   * Every candidate failed or could not be tried: `summary` is the client's status (502, 503
   * or 504), Retry-After and per-attempt message, from `attempts`.
   */
  | { kind: 'exhausted'; summary: FailureSummary; attempts: readonly AttemptRecord[] };

export class RoutingFailure extends Error {
  override readonly name = 'RoutingFailure';
  /** Expected failures are reported at debug level, not as task errors. */
  readonly [EXPECTED_FAILURE] = true;

  constructor(readonly reason: RoutingFailureReason) {
    super(messageOf(reason), reason.kind === 'request_fault' ? { cause: reason.error } : undefined);
  }
}

function messageOf(reason: RoutingFailureReason): string {
  switch (reason.kind) {
    case 'unknown_model':
      return `no enabled provider serves the model '${reason.model}'`;
    case 'request_fault':
      return reason.fault.body.message;
    case 'exhausted':
      return reason.summary.message;
  }
}
