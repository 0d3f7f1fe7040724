/**
 * `llm-proxy fake-upstream`: runs the fake upstream until SIGTERM/SIGINT, logging one line
 * per request and per client disconnect. Argument parsing is a pure function so flag errors
 * are tested without starting anything.
 */
import { parseArgs } from 'node:util';
import { BEHAVIOURS, isBehaviour, type FakeUpstreamOptions } from './behaviour.js';
import { startFakeUpstream } from './server.js';

export const FAKE_UPSTREAM_USAGE = `usage: llm-proxy fake-upstream --port N [flags]
A loopback upstream speaking OpenAI (chat, embeddings, Responses, models) and Anthropic
(Messages, count_tokens) wire formats; it echoes the last user turn. See docs/fake-upstream.md.

  --port N            port to listen on (0 or absent: a free port, printed at start)
  --host H            address to bind (default 127.0.0.1)
  --latency-ms N      delay before a JSON answer's headers or a stream's first event (default 0)
  --fail-rate R       share of requests answered 500, 0 to 1, drawn from --seed (default 0)
  --seed N            seed of the fail-rate draws, so a run replays exactly (default 1)
  --stream-chunks N   content chunks per streamed answer (default 5)
  --chunk-delay-ms N  delay between streamed content chunks (default 0; slow_stream: 200)
  --behaviour B       what every request gets (default ok); B is one of the behaviours below
  --retry-after N     Retry-After seconds on 429 answers (default 1)
  --api-key K         require K: Authorization: Bearer K (OpenAI), x-api-key: K (Anthropic)
  --name NAME         name in log lines, answer ids and the x-fake-upstream header (default fake)
  -h, --help          print this help

behaviours: ${BEHAVIOURS.join(', ')}`;

/** Every flag the command takes; FAKE_UPSTREAM_USAGE has a line for each. */
export const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'latency-ms': { type: 'string' },
  'fail-rate': { type: 'string' },
  seed: { type: 'string' },
  'stream-chunks': { type: 'string' },
  'chunk-delay-ms': { type: 'string' },
  behaviour: { type: 'string' },
  'retry-after': { type: 'string' },
  'api-key': { type: 'string' },
  name: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CliParse =
  | { kind: 'run'; options: FakeUpstreamOptions }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

function wholeNumber(flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > max) {
    throw new Error(`--${flag} must be a whole number from 0 to ${max}, got "${text}"`);
  }
  return value;
}

/** Flags to options; never throws (errors come back as { kind: 'error' }). */
export function parseFakeUpstreamArgs(argv: readonly string[]): CliParse {
  try {
    const { values } = parseArgs({ args: [...argv], options: FLAGS, strict: true });
    if (values.help === true) return { kind: 'help' };
    const options: FakeUpstreamOptions = {};
    if (values.port !== undefined) options.port = wholeNumber('port', values.port, 65535);
    if (values.host !== undefined) options.host = values.host;
    if (values['latency-ms'] !== undefined) {
      options.latencyMs = wholeNumber('latency-ms', values['latency-ms']);
    }
    if (values['fail-rate'] !== undefined) {
      const rate = Number(values['fail-rate']);
      if (values['fail-rate'].trim() === '' || !(rate >= 0 && rate <= 1)) {
        throw new Error(`--fail-rate must be a number from 0 to 1, got "${values['fail-rate']}"`);
      }
      options.failRate = rate;
    }
    if (values.seed !== undefined) options.seed = wholeNumber('seed', values.seed);
    if (values['stream-chunks'] !== undefined) {
      options.streamChunks = wholeNumber('stream-chunks', values['stream-chunks'], 10_000);
    }
    if (values['chunk-delay-ms'] !== undefined) {
      options.chunkDelayMs = wholeNumber('chunk-delay-ms', values['chunk-delay-ms']);
    }
    if (values.behaviour !== undefined) {
      if (!isBehaviour(values.behaviour)) {
        throw new Error(
          `--behaviour must be one of ${BEHAVIOURS.join(', ')}, got "${values.behaviour}"`,
        );
      }
      options.behaviour = values.behaviour;
    }
    if (values['retry-after'] !== undefined) {
      options.retryAfterSeconds = wholeNumber('retry-after', values['retry-after']);
    }
    if (values['api-key'] !== undefined) options.apiKey = values['api-key'];
    if (values.name !== undefined) options.name = values.name;
    return { kind: 'run', options };
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Entry point for `llm-proxy fake-upstream ARGS` (argv without the subcommand). Resolves 0
 * after a clean close on SIGTERM/SIGINT, 2 on bad flags, 1 when the port can't be bound.
 */
export async function runFakeUpstreamCli(argv: string[]): Promise<number> {
  const parsed = parseFakeUpstreamArgs(argv);
  if (parsed.kind === 'help') {
    console.log(FAKE_UPSTREAM_USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(`llm-proxy fake-upstream: ${parsed.message}\n${FAKE_UPSTREAM_USAGE}`);
    return 2;
  }
  const log = (line: string): void => console.log(line);
  let upstream;
  try {
    upstream = await startFakeUpstream({ ...parsed.options, log });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.error(`llm-proxy fake-upstream: cannot listen: ${reason}`);
    return 1;
  }
  const name = parsed.options.name ?? 'fake';
  // The key itself is never printed, only whether one is required.
  const auth = parsed.options.apiKey === undefined ? 'no api key' : 'api key required';
  log(
    `fake-upstream ${name} listening on ${upstream.url} (OpenAI base URL ${upstream.url}/v1, ${auth})`,
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    const stop = (received: NodeJS.Signals): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(received);
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  await upstream.close();
  log(`fake-upstream ${name} stopped on ${signal} after ${upstream.requests} requests`);
  return 0;
}
