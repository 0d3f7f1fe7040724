/**
 * `llm-proxy check-leaks --url BASE_URL [--drain] [--admin-token T] [--timeout-ms N]`: the CI
 * gate. Scrapes BASE_URL/metrics (after POST /admin/drain with --drain), waits up to N ms for
 * in-flight tasks to settle, and exits 0 when no task ever leaked (and, with --drain, none is
 * active); 1 with a table of offending owner/task pairs; 2 when the endpoint can't be read.
 * The admin token may come from LLM_PROXY_ADMIN_TOKEN; the scrape presents
 * LLM_PROXY_METRICS_TOKEN when set (a proxy with auth.metricsToken), else the admin token.
 */
import { parseExposition, type Sample } from '../telemetry/exposition.js';
import { sleep } from '../tasks/timers.js';

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
  let url: string | undefined;
  let drain = false;
  let adminToken = env.LLM_PROXY_ADMIN_TOKEN;
  let timeoutMs = 10_000;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--url':
        url = value();
        break;
      case '--drain':
        drain = true;
        break;
      case '--admin-token':
        adminToken = value();
        break;
      case '--timeout-ms': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 0)
          return '--timeout-ms needs a whole number of milliseconds';
        timeoutMs = n;
        break;
      }
      default:
        return `unknown argument ${flag}`;
    }
  }
  if (url === undefined || !/^https?:\/\//.test(url))
    return '--url BASE_URL (http:// or https://) is required';
  const metricsToken = env.LLM_PROXY_METRICS_TOKEN || undefined;
  return { url: url.replace(/\/+$/, ''), drain, adminToken, metricsToken, timeoutMs };
}

class Unreadable extends Error {}

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
  // Bounds every request so a hung endpoint can't hang the CI job (an unref'd Node timer).
  const deadline = { signal: AbortSignal.timeout(args.timeoutMs + 30_000) };
  try {
    if (args.drain) {
      let res: Response;
      try {
        res = await fetch(`${args.url}/admin/drain`, {
          method: 'POST',
          headers: auth,
          signal: deadline.signal,
        });
      } catch (err) {
        process.stderr.write(`check-leaks: cannot drain ${args.url}: ${(err as Error).message}\n`);
        return 2;
      }
      if (!res.ok) {
        process.stderr.write(`check-leaks: POST /admin/drain answered HTTP ${res.status}\n`);
        return 2;
      }
      await res.body?.cancel();
    }
    const until = Date.now() + args.timeoutMs;
    let rows: Offender[];
    for (;;) {
      rows = offenders(await scrape(args.url, scrapeAuth, deadline.signal), args.drain);
      const activeLeft = rows.some((r) => r.active > 0);
      // Leaks are final (a total); active tasks may still be settling: poll until the deadline.
      if (!activeLeft || Date.now() >= until) break;
      await sleep(Math.min(200, Math.max(0, until - Date.now())), deadline.signal);
    }
    if (rows.length === 0) {
      process.stdout.write(
        `check-leaks: OK, no leaked tasks${args.drain ? ' and no active tasks after drain' : ''} at ${args.url}\n`,
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
    if (deadline.signal.aborted) {
      process.stderr.write(`check-leaks: ${args.url} did not answer in time\n`);
      return 2;
    }
    throw err;
  }
}
