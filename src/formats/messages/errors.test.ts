import { describe, expect, it } from 'vitest';
import {
  anthropicErrorBody,
  anthropicErrorType,
  errorEventFrame,
  invalidRequest,
  MessagesFormatError,
} from './errors.js';

describe('Anthropic error shapes', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [529, 'overloaded_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'api_error'],
    [409, 'invalid_request_error'],
    [422, 'invalid_request_error'],
  ])('maps status %i to %s', (status, type) => {
    expect(anthropicErrorType(status)).toBe(type);
  });

  it('builds the error body, with request_id when there is one', () => {
    expect(anthropicErrorBody(429, 'slow down')).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow down' },
    });
    expect(anthropicErrorBody(404, "model 'x' not found", 'req_1')).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: "model 'x' not found" },
      request_id: 'req_1',
    });
  });

  it('writes the error event of a stream that failed after it began', () => {
    expect(errorEventFrame(503, 'Overloaded')).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    );
  });

  it('carries type, status and field in MessagesFormatError', () => {
    const err = invalidRequest('messages.0.content', 'Field required');
    expect(err).toBeInstanceOf(MessagesFormatError);
    expect([err.status, err.errorType, err.param, err.code]).toEqual([
      400,
      'invalid_request_error',
      'messages.0.content',
      'LLMP_MESSAGES_FORMAT',
    ]);
    expect(err.toBody()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'messages.0.content: Field required' },
    });
    expect(new MessagesFormatError(502, 'bad answer').message).toBe('bad answer');
  });
});
