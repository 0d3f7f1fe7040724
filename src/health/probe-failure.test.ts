import { describe, expect, it } from 'vitest';
import { statusError, toUpstreamError } from '../upstream/index.js';
import { likelyCause, probeFailure } from './probe-failure.js';

const refusal = (status: number, message: string, code: string | null = null) =>
  probeFailure(
    {
      outcome: 'failed',
      error: statusError(status, undefined, {
        message,
        type: 'invalid_request_error',
        param: null,
        code,
      }),
    },
    5_000,
  );

describe('probeFailure', () => {
  it("gives an upstream refusal's status, code and own words", () => {
    expect(refusal(401, 'Incorrect API key provided.', 'invalid_api_key')).toEqual({
      status: 401,
      code: 'invalid_api_key',
      reason: 'HTTP 401: Incorrect API key provided.',
    });
  });

  it('gives the status line alone when the upstream said nothing', () => {
    expect(probeFailure({ outcome: 'failed', error: statusError(500) }, 5_000)).toEqual({
      status: 500,
      code: undefined,
      reason: 'HTTP 500',
    });
  });

  it('redacts anything shaped like a credential and keeps one short line', () => {
    const { reason } = refusal(401, `bad key sk-proj-AbCdEfGhIjKlMnOp\n${'x'.repeat(1_000)}`);
    expect(reason).not.toContain('AbCdEfGh');
    expect(reason).toContain('[redacted]');
    expect(reason).not.toContain('\n');
    expect(reason.length).toBeLessThan(320);
  });

  it('names the deadline of a probe that timed out', () => {
    expect(probeFailure({ outcome: 'timed_out', reason: 'deadline' }, 750)).toEqual({
      reason: 'no answer within 750 ms (healthCheck.timeoutMs)',
    });
  });

  it('says how a transport failure ended', () => {
    const err = toUpstreamError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      new AbortController().signal,
    );
    expect(probeFailure({ outcome: 'failed', error: err }, 5_000).reason).toBe(
      'connection error (ECONNREFUSED)',
    );
  });

  it('quotes an error that is not an upstream one, redacted', () => {
    const failure = probeFailure(
      { outcome: 'failed', error: new Error('Authorization: Bearer abc.def.ghi rejected') },
      5_000,
    );
    expect(failure.reason).toMatch(/^Authorization: .*\[redacted\] rejected$/);
    expect(failure.reason).not.toContain('abc.def');
  });
});

describe('likelyCause', () => {
  it.each([
    [401, null, 'the provider rejected the key: check apiKey'],
    [403, null, 'the provider rejected the key: check apiKey'],
    [404, 'unknown_url', 'baseUrl is probably missing its API root, e.g. /v1'],
    [404, 'model_not_found', "the provider does not serve the probe's model: check probe.model"],
    [404, 'DeploymentNotFound', 'no such deployment: check deployments and apiVersion'],
  ])('names the likely cause of a %i (%s)', (status, code, cause) => {
    expect(likelyCause(refusal(status, 'no', code))).toBe(cause);
  });

  it.each([400, 429, 500, 503])('has nothing to say about a %i', (status) => {
    expect(likelyCause(refusal(status, 'no'))).toBeUndefined();
  });

  it('has nothing to say about a timeout', () => {
    expect(likelyCause({ reason: 'no answer within 5000 ms' })).toBeUndefined();
  });
});
