import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import { TaskCancelledError } from '../tasks/errors.js';
import { statusError, toUpstreamError, UpstreamError } from './errors.js';

const live = new AbortController().signal;

describe('toUpstreamError', () => {
  it.each([
    ['HeadersTimeoutError', new undiciErrors.HeadersTimeoutError()],
    ['BodyTimeoutError', new undiciErrors.BodyTimeoutError()],
    ['ConnectTimeoutError', new undiciErrors.ConnectTimeoutError()],
  ])("classifies undici's %s as a timeout", (_name, err) => {
    expect(toUpstreamError(err, live).kind).toBe('timeout');
  });

  it('classifies other transport errors as connection errors, naming their code', () => {
    const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(toUpstreamError(err, live)).toMatchObject({
      kind: 'connection',
      message: 'connection error (ECONNRESET)',
    });
    expect(toUpstreamError(new undiciErrors.SocketError('closed'), live).kind).toBe('connection');
  });

  it('classifies anything thrown once the signal is aborted, or a task cancellation, as cancelled', () => {
    const aborted = AbortSignal.abort();
    expect(toUpstreamError(new undiciErrors.HeadersTimeoutError(), aborted).kind).toBe('cancelled');
    expect(toUpstreamError(TaskCancelledError.of('lost_race'), live).kind).toBe('cancelled');
  });

  it('classifies unparseable JSON as an invalid response and passes an UpstreamError through', () => {
    expect(toUpstreamError(new SyntaxError('bad'), live).kind).toBe('invalid_response');
    const e = new UpstreamError('server_error', 'HTTP 500', { status: 500 });
    expect(toUpstreamError(e, AbortSignal.abort())).toBe(e);
  });
});

describe('UpstreamError.requestFault', () => {
  const words = { message: 'bad', type: 'invalid_request_error', param: null, code: null };

  it.each([400, 413, 422])('is set by a %i that carries the upstream’s own words', (status) => {
    expect(statusError(status, undefined, words).requestFault).toEqual({ status, body: words });
  });

  it('is not set by other statuses, or by a 400 without the upstream’s words', () => {
    for (const status of [401, 404, 429, 500]) {
      expect(statusError(status, undefined, words).requestFault).toBeUndefined();
    }
    expect(statusError(400).requestFault).toBeUndefined();
  });
});
