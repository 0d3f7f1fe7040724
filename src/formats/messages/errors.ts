/**
 * Errors in Anthropic's shape: `{"type":"error","error":{"type","message"}}`, the error type
 * chosen by HTTP status as Anthropic's reference lists them, and one typed error the pure
 * functions of this folder throw, carrying the type, the status and the offending field.
 */
import type { AnthropicErrorBody, AnthropicErrorType } from './types.js';

/**
 * The error type for an HTTP status. The reference's table covers 400, 401, 403, 404, 413,
 * 429, 500 and 529, and says other 4xx may use `invalid_request_error`.
 *
 * NOTE: the proxy's own 502/503/504 have no row there. 503 (no provider can take the request
 * now: all cooling down, circuit open, draining) is `overloaded_error`: like Anthropic's 529
 * it means "temporarily unable, retry with backoff", which Claude Code and the SDKs do. 502
 * (an upstream answered something unusable) and 504 (the upstream took too long) are
 * `api_error`, the reference's "unexpected error internal to the service"; the SDKs' own
 * `timeout_error` is left out because the reference does not list it for a status.
 */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** The body of an error answer; `requestId` becomes Anthropic's top-level `request_id`. */
export function anthropicErrorBody(
  status: number,
  message: string,
  requestId?: string,
): AnthropicErrorBody & { request_id?: string } {
  const body: AnthropicErrorBody & { request_id?: string } = {
    type: 'error',
    error: { type: anthropicErrorType(status), message },
  };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}

/** The `error` event of a stream that failed after it began (its HTTP status was 200). */
export function errorEventFrame(status: number, message: string): string {
  const data: AnthropicErrorBody = {
    type: 'error',
    error: { type: anthropicErrorType(status), message },
  };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * What the Messages format cannot take or give: a request that fails validation or cannot be
 * translated (400, `invalid_request_error`), or an upstream answer that cannot be expressed
 * as a Message (502, `api_error`). `param` is the offending field as Anthropic writes paths
 * (`messages.0.content.1.source`), also at the head of the message.
 */
export class MessagesFormatError extends Error {
  readonly code = 'LLMP_MESSAGES_FORMAT';
  override readonly name = 'MessagesFormatError';
  readonly errorType: AnthropicErrorType;

  constructor(
    readonly status: 400 | 502,
    message: string,
    readonly param: string | null = null,
  ) {
    super(param === null ? message : `${param}: ${message}`);
    this.errorType = anthropicErrorType(status);
  }

  /** The error as Anthropic's body. */
  toBody(): AnthropicErrorBody {
    return { type: 'error', error: { type: this.errorType, message: this.message } };
  }
}

/** A request the Messages API or its translation to chat refuses (400). */
export function invalidRequest(param: string | null, message: string): MessagesFormatError {
  return new MessagesFormatError(400, message, param);
}
