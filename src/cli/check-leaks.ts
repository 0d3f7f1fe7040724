/**
 * `llm-proxy check-leaks --url BASE_URL [--drain] [--admin-token T] [--timeout-ms N]`: the CI
 * gate. Scrapes BASE_URL/metrics (after POST /admin/drain with --drain), waits up to N ms for
 * in-flight tasks to settle, and exits 0 when no task ever leaked (and, with --drain, none is
 * active); 1 with a table of offending owner/task pairs; 2 when the endpoint can't be read or
 * is not an llm-proxy's /metrics. N bounds the drain call too: a drain still running then is
 * abandoned (the proxy carries on draining) and /metrics, scraped once more, decides.
 * The admin token may come from LLM_PROXY_ADMIN_TOKEN; the scrape presents
 * LLM_PROXY_METRICS_TOKEN when set (a proxy with auth.metricsToken), else the admin token.
 */
import { parseExposition, type Sample } from '../telemetry/exposition.js';
import { baseUrl, readFlags, valueOf, wholeNumber } from './args.js';
import { armTimer, sleep } from '../tasks/timers.js';

export interface CheckLeaksArgs {
  url: string;
  drain: boolean;
  adminToken: string | undefined;
  /** For /metrics when the proxy has its own metricsToken; defaults to the admin token. */
  metricsToken: string | undefined;
  timeoutMs: number;
}

export function parseCheckLeaksArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): CheckLeaksArgs | string {
  const flags = readFlags(argv, {
    '--url': 'value',
    '--drain': 'switch',
    '--admin-token': 'value',
    '--timeout-ms': 'value',
  });
  if (typeof flags === 'string') return flags;
  const timeoutMs = wholeNumber(flags, '--timeout-ms', 0, 10_000);
  if (timeoutMs === undefined) return '--timeout-ms needs a whole number of milliseconds';
  const base = baseUrl(flags);
  if (typeof base === 'string') return base;
  const adminToken = flags.has('--admin-token')
    ? valueOf(flags, '--admin-token')
    : env.LLM_PROXY_ADMIN_TOKEN;
  const metricsToken = env.LLM_PROXY_METRICS_TOKEN || undefined;
  return { url: base.url, drain: flags.has('--drain'), adminToken, metricsToken, timeoutMs };
}

/** Exit 2: the endpoint can't be read, or what it serves is not an llm-proxy's. */
class Unreadable extends Error {}

/**
 * How long past --timeout-ms a read may still take before the endpoint counts as unreadable:
 * the last scrape is taken at the deadline and must be allowed to answer.
 */
const READ_GRACE_MS = 30_000;

/** The drain call is given at least this long, so even --timeout-ms 0 surely requests it. */
const DRAIN_FLOOR_MS = 1_000;

interface Deadline {
  signal: AbortSignal;
  /** Clears the timer: called on the way out, so none outlives the command (run in-process too). */
  disarm: () => void;
}

/** An AbortSignal that aborts `ms` from now, on the project's own (unref'd, counted) timers. */
function deadlineIn(ms: number): Deadline {
  const controller = new AbortController();
  const disarm = armTimer(ms, () =>
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
  );
  return { signal: controller.signal, disarm };
}

/**
 * POST /admin/drain, given up at `settle` (the --timeout-ms deadline, at least
 * DRAIN_FLOOR_MS): the proxy answers only
 * once its drain is over, which can take its whole shutdown deadline and more, and the CI gate
 * must not wait past what it was told. True when the drain finished, false when given up.
 */
async function drain(
  url: string,
  headers: Record<string, string>,
  settle: AbortSignal,
): Promise<boolean> {
  let res: Response;
  try {
    res = await fetch(`${url}/admin/drain`, { method: 'POST', headers, signal: settle });
  } catch (err) {
    // Aborting the request does not stop the drain: the proxy finishes it regardless.
    if (settle.aborted) return false;
    throw new Unreadable(`cannot drain ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Unreadable(`POST /admin/drain answered HTTP ${res.status}`);
  await res.body?.cancel();
  return true;
}

async function scrape(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Sample[]> {
  let res: Response;
  try {
    res = await fetch(`${url}/metrics`, { headers, signal });
  } catch (err) {
    throw new Unreadable(`cannot read ${url}/metrics: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Unreadable(`cannot read ${url}/metrics: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

/**
 * A real llm-proxy pre-initialises its task series, so a family missing altogether means the
 * URL points elsewhere (another service's Prometheus endpoint): reading no leaks there must
 * not pass the gate.
 */
function requireFamilies(samples: readonly Sample[], url: string, withActive: boolean): void {
  const families = [
    'llm_proxy_tasks_leaked_total',
    ...(withActive ? ['llm_proxy_tasks_active'] : []),
  ];
  for (const family of families) {
    if (!samples.some((s) => s.name === family))
      throw new Unreadable(`${url}/metrics is not an llm-proxy /metrics: no ${family} series`);
  }
}

interface Offender {
  owner: string;
  task: string;
  leaked: number;
  active: number;
}

function offenders(samples: Sample[], withActive: boolean): Offender[] {
  const rows = new Map<string, Offender>();
  const add = (name: string, field: 'leaked' | 'active'): void => {
    for (const s of samples) {
      if (s.name !== name || s.value === 0) continue;
      const owner = s.labels.owner ?? '?';
      const task = s.labels.task ?? '?';
      const key = `${owner}/${task}`;
      const row = rows.get(key) ?? { owner, task, leaked: 0, active: 0 };
      row[field] += s.value;
      rows.set(key, row);
    }
  };
  add('llm_proxy_tasks_leaked_total', 'leaked');
  if (withActive) add('llm_proxy_tasks_active', 'active');
  return [...rows.values()].sort((a, b) => b.leaked - a.leaked || b.active - a.active);
}

export function formatOffenders(rows: readonly Offender[]): string {
  const header = ['OWNER/TASK', 'LEAKED_TOTAL', 'ACTIVE'];
  const lines = rows.map((r) => [`${r.owner}/${r.task}`, String(r.leaked), String(r.active)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function checkLeaks(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const args = parseCheckLeaksArgs(argv, env);
  if (typeof args === 'string') {
    process.stderr.write(
      `check-leaks: ${args}\nusage: llm-proxy check-leaks --url BASE_URL [--drain] [--admin-token T] [--timeout-ms N]\n`,
    );
    return 2;
  }
  const bearer = (token: string | undefined): Record<string, string> =>
    token === undefined ? {} : { authorization: `Bearer ${token}` };
  const auth = bearer(args.adminToken);
  const scrapeAuth = bearer(args.metricsToken ?? args.adminToken);
  // --timeout-ms bounds the drain call and the wait for tasks to settle; reads get a grace
  // beyond it, so a hung endpoint still can't hang the CI job.
  const settle = deadlineIn(args.timeoutMs);
  const drainBy = deadlineIn(Math.max(args.timeoutMs, DRAIN_FLOOR_MS));
  const reads = deadlineIn(args.timeoutMs + READ_GRACE_MS);
  try {
    const drained = args.drain ? await drain(args.url, auth, drainBy.signal) : true;
    if (!drained) {
      process.stdout.write(
        `check-leaks: POST /admin/drain did not finish within ${args.timeoutMs} ms (--timeout-ms); judging by /metrics as it is now\n`,
      );
    }
    let rows: Offender[];
    for (;;) {
      const samples = await scrape(args.url, scrapeAuth, reads.signal);
      requireFamilies(samples, args.url, args.drain);
      rows = offenders(samples, args.drain);
      const activeLeft = rows.some((r) => r.active > 0);
      // Leaks are final (a total); active tasks may still be settling: poll until the deadline.
      // The sleep ends early at the deadline, for one last scrape.
      if (!activeLeft || settle.signal.aborted) break;
      await sleep(200, settle.signal);
    }
    if (rows.length === 0) {
      const after = drained ? ' after drain' : ' (drain unfinished)';
      process.stdout.write(
        `check-leaks: OK, no leaked tasks${args.drain ? ` and no active tasks${after}` : ''} at ${args.url}\n`,
      );
      return 0;
    }
    process.stdout.write(`check-leaks: FAILED at ${args.url}\n${formatOffenders(rows)}\n`);
    return 1;
  } catch (err) {
    if (err instanceof Unreadable) {
      process.stderr.write(`check-leaks: ${err.message}\n`);
      return 2;
    }
    if (reads.signal.aborted) {
      process.stderr.write(`check-leaks: ${args.url} did not answer in time\n`);
      return 2;
    }
    throw err;
  } finally {
    settle.disarm();
    drainBy.disarm();
    reads.disarm();
  }
}
