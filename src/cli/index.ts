#!/usr/bin/env node
/**
 * The `llm-proxy` command: serve (default), `check-leaks`, `tasks`, `fake-upstream`.
 * The only module that reads argv and sets the exit code. Each subcommand is imported only
 * when chosen: `check-leaks` runs in CI loops and must not pay for loading the whole proxy
 * (OTel SDK, providers, caches), which costs ~0.5 s per start.
 */

const HELP = `usage:
  llm-proxy [--config FILE]                 serve (config also from LLM_PROXY_CONFIG)
  llm-proxy check-leaks --url BASE_URL [--drain] [--admin-token T] [--timeout-ms N]
  llm-proxy tasks --url BASE_URL [--watch] [--interval-ms N] [--admin-token T]
  llm-proxy fake-upstream --port N [--latency-ms N] [--fail-rate R] [--stream-chunks N]
`;

/** Aborted on the first SIGINT or SIGTERM: how `tasks --watch` is stopped. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check-leaks':
      return (await import('./check-leaks.js')).checkLeaks(rest);
    case 'tasks':
      return (await import('./tasks.js')).tasks(rest, process.env, interrupted());
    case 'fake-upstream':
      return (await import('../fake-upstream/index.js')).runFakeUpstreamCli(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      return (await import('./serve.js')).serve(argv);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `llm-proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
