/**
 * What the client hears when routing has no answer: the one place a RoutingFailure becomes
 * a ProxyError (status, message, code, param, Retry-After).
 */
import type { RoutingFailure } from '../routing/failure.js';
import { errors, ProxyError } from './errors.js';

export function routingError(failure: RoutingFailure): ProxyError {
  const { reason } = failure;
  switch (reason.kind) {
    case 'unknown_model':
      return errors.unknownModel(reason.model);
    case 'request_fault': {
      // The upstream's own message, code and param, so the client learns what was wrong with
      // its request rather than a bare status line. The type stays the one for the status.
      const { status, body } = reason.fault;
      return new ProxyError(status, body.message, {
        code: body.code,
        param: body.param,
        cause: reason.error,
      });
    }
    case 'exhausted': {
      const { status, message, retryAfterSeconds } = reason.summary;
      return new ProxyError(status, message, {
        code: 'upstream_failed',
        ...(retryAfterSeconds === undefined ? {} : { retryAfter: retryAfterSeconds }),
      });
    }
  }
}
