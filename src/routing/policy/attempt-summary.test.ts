import { describe, expect, it } from 'vitest';
import { summarizeAttempts, type AttemptOutcome, type AttemptRecord } from './attempt-summary.js';

function attempt(
  provider: string,
  outcome: AttemptOutcome,
  extra: Partial<AttemptRecord> = {},
): AttemptRecord {
  return { provider, outcome, message: '', durationMs: 10, ...extra };
}

describe('summarizeAttempts: status', () => {
  it('503 when there was nothing to try', () => {
    expect(summarizeAttempts([])).toEqual({ status: 503, message: 'no provider available' });
  });

  it('503 when every breaker refused', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'breaker_open'),
      attempt('backup', 'breaker_open'),
    ]);
    expect(summary).toEqual({
      status: 503,
      message:
        'no provider available: primary: circuit open, not tried; backup: circuit open, not tried',
    });
  });

  it('503 when every attempt sent was rate limited', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'rate_limited', { status: 429 }),
      attempt('backup', 'breaker_open'),
      attempt('spare', 'rate_limited', { status: 429 }),
    ]);
    expect(summary.status).toBe(503);
    expect(summary.retryAfterSeconds).toBeUndefined();
  });

  it("passes on the soonest provider's Retry-After with a rate-limit 503, within 1-60 s", () => {
    const limited = (...waits: (number | undefined)[]) =>
      summarizeAttempts(
        waits.map((w, i) => attempt(`p${i}`, 'rate_limited', { status: 429, retryAfterMs: w })),
      ).retryAfterSeconds;
    expect(limited(20_000, 7_500)).toBe(8);
    expect(limited(undefined, 3_000)).toBe(3);
    expect(limited(999_999_000)).toBe(60);
    expect(limited(0)).toBe(1);
    // Not for a 502: a server error's Retry-After does not make the whole answer a rate limit.
    expect(
      summarizeAttempts([
        attempt('a', 'rate_limited', { retryAfterMs: 5_000 }),
        attempt('b', 'server_error', { status: 500 }),
      ]),
    ).not.toHaveProperty('retryAfterSeconds');
  });

  it('503 with the soonest cooldown as Retry-After when every provider is cooling down', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'cooling_down', { retryAfterMs: 12_300 }),
      attempt('backup', 'cooling_down', { retryAfterMs: 4_200 }),
    ]);
    expect(summary).toEqual({
      status: 503,
      message:
        'no provider available: primary: rate limited, cooling down for 13 s, not tried; ' +
        'backup: rate limited, cooling down for 5 s, not tried',
      retryAfterSeconds: 5,
    });
  });

  it('503 with the soonest wait when cooldowns and rate limits mix', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'cooling_down', { retryAfterMs: 9_000 }),
      attempt('backup', 'rate_limited', { status: 429, retryAfterMs: 3_000 }),
      attempt('spare', 'breaker_open'),
    ]);
    expect(summary.status).toBe(503);
    expect(summary.retryAfterSeconds).toBe(3);
  });

  it('a cooldown does not turn a server error into a 503', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'cooling_down', { retryAfterMs: 9_000 }),
      attempt('backup', 'server_error', { status: 500 }),
    ]);
    expect(summary).toMatchObject({ status: 502 });
    expect(summary.retryAfterSeconds).toBeUndefined();
  });

  it('504 when every attempt sent timed out, with or without a status', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'timeout', { durationMs: 3000 }),
      attempt('backup', 'breaker_open'),
      attempt('spare', 'timeout', { status: 504 }),
    ]);
    expect(summary.status).toBe(504);
  });

  it.each<[string, AttemptOutcome[]]>([
    ['server errors', ['server_error', 'server_error']],
    ['a timeout and a server error', ['timeout', 'server_error']],
    ['a timeout and a rate limit', ['timeout', 'rate_limited']],
    ['connection failures', ['connection']],
    ['an invalid response', ['invalid_response']],
    ['a client error', ['client_error']],
    ['a cancellation', ['cancelled']],
  ])('502 for %s', (_name, outcomes) => {
    const summary = summarizeAttempts(outcomes.map((o, i) => attempt(`p${i}`, o)));
    expect(summary.status).toBe(502);
  });
});

describe('summarizeAttempts: message', () => {
  it('lists every attempt with its status line and duration', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'server_error', { status: 500, durationMs: 12.4 }),
      attempt('backup', 'timeout', { durationMs: 3000 }),
    ]);
    expect(summary).toEqual({
      status: 502,
      message: 'all 2 providers failed: primary: HTTP 500 (12 ms); backup: timeout after 3000 ms',
    });
  });

  it('counts providers, not attempts, and lists retries in order', () => {
    const summary = summarizeAttempts([
      attempt('primary', 'server_error', { status: 503, durationMs: 5 }),
      attempt('primary', 'connection', { message: 'connect ECONNREFUSED 127.0.0.1:9001' }),
    ]);
    expect(summary.message).toBe(
      '1 provider failed: primary: HTTP 503 (5 ms); ' +
        'primary: connection: connect ECONNREFUSED 127.0.0.1:9001 (10 ms)',
    );
  });

  it('names the kind when there is no status and no detail', () => {
    const summary = summarizeAttempts([
      attempt('a', 'invalid_response'),
      attempt('b', 'cancelled'),
    ]);
    expect(summary.message).toBe(
      'all 2 providers failed: a: invalid response (10 ms); b: cancelled (10 ms)',
    );
  });

  it('never shows an upstream message next to an HTTP status', () => {
    const summary = summarizeAttempts([
      attempt('a', 'client_error', { status: 400, message: 'your prompt was: secret plans' }),
    ]);
    expect(summary.message).toBe('1 provider failed: a: HTTP 400 (10 ms)');
  });

  it("adds the upstream's own message after its status, redacted and cut short", () => {
    const summary = summarizeAttempts([
      attempt('primary', 'client_error', {
        status: 404,
        upstreamMessage: 'Unknown request URL: POST /chat/completions',
      }),
      attempt('backup', 'client_error', {
        status: 401,
        upstreamMessage: `Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOp.\n${'x'.repeat(500)}`,
      }),
    ]);
    const [first, second] = summary.message.split('; ');
    expect(first).toBe(
      'all 2 providers failed: primary: HTTP 404: Unknown request URL: POST /chat/completions (10 ms)',
    );
    expect(second).toMatch(
      /^backup: HTTP 401: Incorrect API key provided: \[redacted\] x+… \(10 ms\)$/,
    );
    expect(second!.length).toBeLessThan(240);
  });

  it.each([
    'Authorization: Bearer sk-live-abcdefghijklmnop',
    'bad key sk-proj-AbCdEfGhIjKlMnOpQrStUv',
    'anthropic rejected sk-ant-api03-abcdefghijkl',
    'GET https://api.example/v1?api_key=hunter2hunter2 failed',
    'x-api-key: "hunter2hunter2"',
    'connect to https://user:hunter2hunter2@host/v1 refused',
  ])('scrubs credentials from %o', (text) => {
    const { message } = summarizeAttempts([attempt('a', 'connection', { message: text })]);
    expect(message).toContain('[redacted]');
    expect(message).not.toMatch(/abcdefghijkl|AbCdEfGh|hunter2/);
  });

  it.each([
    'bad key sk-test\\/ESCKEYabcdefgh+2',
    'bad key \\u0073k-test/ESCKEYabcdefgh',
    'bad key sk-test%2FESCKEYabcdefgh%2B2',
    'BAD KEY SK-TEST/ESCKEYABCDEFGH',
    'GET /v1?api%5Fkey=ESCKEYabcdefgh failed',
  ])('scrubs a credential written with escapes, percent-encoding or another case: %o', (text) => {
    const { message } = summarizeAttempts([attempt('a', 'connection', { message: text })]);
    expect(message).toContain('[redacted]');
    expect(message).not.toMatch(/ESCKEY/i);
  });

  it('keeps each detail on one short line', () => {
    const { message } = summarizeAttempts([
      attempt('a', 'connection', { message: `first line\n\tsecond ${'x'.repeat(500)}` }),
    ]);
    expect(message).not.toMatch(/\n|\t/);
    expect(message).toContain('connection: first line second x');
    expect(message.length).toBeLessThan(260);
    expect(message).toMatch(/… \(10 ms\)$/);
  });
});
