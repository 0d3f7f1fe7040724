/**
 * JSON logs through pino. Keys never reach a log line: the usual carriers are redacted by
 * path, and nothing in this codebase logs request headers or provider configs whole.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a collecting stream. */
  destination?: DestinationStream;
}

const REDACT = [
  'apiKey',
  'adminToken',
  'authorization',
  '*.apiKey',
  '*.adminToken',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
];

export function createLogger({ level = 'info', destination }: LoggerOptions = {}): Logger {
  const options = {
    level,
    base: { service: 'llm-proxy' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // NOTE: stdout is written synchronously. pino's default asynchronous stdout flushes what is
  // pending when the process exits, and sonic-boom 4's flushSync retries a failed write
  // forever: with stdout gone (a closed pipe, EPIPE) the process hung on exit, a SIGTERM
  // included. Synchronously, the EPIPE shows at once and pino stops writing. The proxy logs
  // no line per request, so the cost does not show.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that writes nothing, for benchmarks and quiet tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
