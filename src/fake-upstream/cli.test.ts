import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFakeUpstreamArgs, runFakeUpstreamCli } from './index.js';
import { FLAGS } from './cli.js';
import { BEHAVIOURS } from './behaviour.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('parseFakeUpstreamArgs', () => {
  it('maps every flag to its option', () => {
    expect(
      parseFakeUpstreamArgs([
        '--port',
        '9001',
        '--host',
        '127.0.0.2',
        '--latency-ms',
        '20',
        '--fail-rate',
        '0.25',
        '--seed',
        '7',
        '--stream-chunks',
        '3',
        '--chunk-delay-ms',
        '15',
        '--behaviour',
        'slow_stream',
        '--retry-after',
        '4',
        '--api-key',
        'sk-k',
        '--name',
        'primary',
      ]),
    ).toEqual({
      kind: 'run',
      options: {
        port: 9001,
        host: '127.0.0.2',
        latencyMs: 20,
        failRate: 0.25,
        seed: 7,
        streamChunks: 3,
        chunkDelayMs: 15,
        behaviour: 'slow_stream',
        retryAfterSeconds: 4,
        apiKey: 'sk-k',
        name: 'primary',
      },
    });
  });

  it.each([
    [['--port', 'abc'], /--port must be a whole number/],
    [['--port', '70000'], /--port must be a whole number from 0 to 65535/],
    [['--latency-ms', '-5'], /--latency-ms/],
    [['--fail-rate', '1.5'], /--fail-rate must be a number from 0 to 1/],
    [['--fail-rate', ''], /--fail-rate/],
    [['--behaviour', 'explode'], /--behaviour must be one of ok, fail, hang/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /Unexpected argument 'stray'/],
  ])('rejects %j', (argv, message) => {
    const parsed = parseFakeUpstreamArgs(argv);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' ? parsed.message : '').toMatch(message);
  });
});

describe('runFakeUpstreamCli', () => {
  it('prints, for --help, one line for every flag and every behaviour, and resolves 0', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((text: string) => printed.push(text));
    await expect(runFakeUpstreamCli(['--help'])).resolves.toBe(0);
    const lines = printed.join('\n').split('\n');
    for (const flag of Object.keys(FLAGS)) {
      const described = lines.filter((line) =>
        new RegExp(`^  (-\\w, )?--${flag}\\b.* \\S`).test(line),
      );
      expect(described, `--${flag}`).toHaveLength(1);
    }
    const behaviours = lines.find((line) => line.startsWith('behaviours: '));
    expect(behaviours?.slice('behaviours: '.length).split(', ')).toEqual([...BEHAVIOURS]);
    expect(printed.join('\n')).toContain('docs/fake-upstream.md');
  });

  it('prints the problem and usage on stderr and resolves 2 for a bad flag', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    await expect(runFakeUpstreamCli(['--stream-chunks', 'many'])).resolves.toBe(2);
    expect(stderr).toHaveBeenCalledWith(expect.stringMatching(/--stream-chunks.*\n.*usage:/s));
  });

  it('serves, logs each request, and resolves 0 after closing on SIGTERM', async () => {
    const logged: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => logged.push(line));
    const signalListeners = process.listenerCount('SIGTERM');
    const exit = runFakeUpstreamCli(['--port', '0', '--name', 'cli', '--api-key', 'sk-hidden']);
    await vi.waitFor(() => expect(logged[0]).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/));
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(logged[0] ?? '')?.[1] ?? '';
    const res = await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-hidden' } });
    expect(res.status).toBe(200);
    await res.text();

    process.emit('SIGTERM');
    await expect(exit).resolves.toBe(0);
    expect(logged).toContain('fake-upstream cli request #1 GET /v1/models stream=false');
    expect(logged.at(-1)).toBe('fake-upstream cli stopped on SIGTERM after 1 requests');
    expect(logged.join('\n')).not.toContain('sk-hidden');
    expect(process.listenerCount('SIGTERM')).toBe(signalListeners);
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow(TypeError);
  });

  it('also stops on SIGINT', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const exit = runFakeUpstreamCli([]);
    await vi.waitFor(() => expect(process.listenerCount('SIGINT')).toBeGreaterThan(0));
    process.emit('SIGINT');
    await expect(exit).resolves.toBe(0);
  });
});
