/**
 * `llm-proxy tasks --url BASE_URL [--watch] [--interval-ms N] [--admin-token T]`: a terminal
 * view of GET /admin/tasks for incidents. Live tasks as a tree: root tasks grouped by owner,
 * each task's children (the tasks spawned in its own scope) indented under it, oldest first;
 * each with its state, age, cancel reason, leak flag and scope, under a header line with the
 * totals. `--watch` redraws every N ms (default 2000) until interrupted.
 * Exit 1 when a leaked task was shown, 0 otherwise, 2 when /admin/tasks can't be read (or on
 * bad arguments). With --watch, a read failing after the first frame is shown and retried,
 * and the exit code says 2 only if the last read failed. The admin token may come from
 * LLM_PROXY_ADMIN_TOKEN.
 */
import { isRecord, parseRecord } from '../json.js';
import { baseUrl, readFlags, valueOf, wholeNumber } from './args.js';
import { armTimer, sleep } from '../tasks/timers.js';

export const TASKS_USAGE =
  'usage: llm-proxy tasks --url BASE_URL [--watch] [--interval-ms N] [--admin-token T]';

export interface TasksArgs {
  url: string;
  watch: boolean;
  intervalMs: number;
  adminToken: string | undefined;
}

export function parseTasksArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): TasksArgs | string {
  const flags = readFlags(argv, {
    '--url': 'value',
    '--watch': 'switch',
    '--admin-token': 'value',
    '--interval-ms': 'value',
  });
  if (typeof flags === 'string') return flags;
  const intervalMs = wholeNumber(flags, '--interval-ms', 100, 2_000);
  if (intervalMs === undefined) return '--interval-ms needs a whole number >= 100';
  const base = baseUrl(flags);
  if (typeof base === 'string') return base;
  const adminToken = flags.has('--admin-token')
    ? valueOf(flags, '--admin-token')
    : env.LLM_PROXY_ADMIN_TOKEN || undefined;
  return { url: base.url, watch: flags.has('--watch'), intervalMs, adminToken };
}

/** One entry of /admin/tasks, as far as this view needs it. */
export interface LiveTask {
  id: number;
  owner: string;
  task: string;
  state: string;
  ageMs: number;
  leaked: boolean;
  cancelReason: string | null;
  /** The scope the task runs in ('root/http', or a task's own: 'root/http/request#12'). */
  scope: string;
}

/** Exit 2: the endpoint can't be read, or what it serves is not an llm-proxy's task list. */
class Unreadable extends Error {}

/** A read that has not answered in this long counts as unreadable. */
const READ_TIMEOUT_MS = 10_000;

function decodeTask(raw: unknown): LiveTask | undefined {
  if (!isRecord(raw)) return undefined;
  const { id, owner, task, state, ageMs, age, leaked, cancelReason, scope } = raw;
  if (typeof id !== 'number' || typeof owner !== 'string' || typeof task !== 'string')
    return undefined;
  if (typeof state !== 'string' || typeof leaked !== 'boolean') return undefined;
  const ms = typeof ageMs === 'number' ? ageMs : typeof age === 'number' ? age * 1000 : undefined;
  if (ms === undefined) return undefined;
  return {
    id,
    owner,
    task,
    state,
    ageMs: ms,
    leaked,
    cancelReason: typeof cancelReason === 'string' ? cancelReason : null,
    scope: typeof scope === 'string' ? scope : 'root',
  };
}

/** Why a refused read was refused: the status, the proxy's own words, what to do. */
function refusal(status: number, body: string): string {
  const error = parseRecord(body)?.error;
  const said = isRecord(error) && typeof error.message === 'string' ? `: ${error.message}` : '';
  const hint =
    status === 401 || status === 403
      ? ' (pass --admin-token T or set LLM_PROXY_ADMIN_TOKEN: the proxy needs auth.adminToken)'
      : '';
  return `GET /admin/tasks answered HTTP ${status}${said}${hint}`;
}

/** GET /admin/tasks, bounded by READ_TIMEOUT_MS and by `stop`. */
export async function readTasks(
  url: string,
  adminToken: string | undefined,
  stop: AbortSignal,
): Promise<LiveTask[]> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  const disarm = armTimer(READ_TIMEOUT_MS, abort);
  stop.addEventListener('abort', abort, { once: true });
  try {
    let res: Response;
    let body: string;
    try {
      const headers: Record<string, string> =
        adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` };
      res = await fetch(`${url}/admin/tasks`, { headers, signal: controller.signal });
      body = await res.text();
    } catch (err) {
      // fetch says only 'fetch failed'; its cause says what (connect ECONNREFUSED ...).
      const cause = (err as { cause?: unknown }).cause;
      const why =
        controller.signal.aborted && !stop.aborted
          ? 'no answer in time'
          : cause instanceof Error
            ? cause.message
            : String(err);
      throw new Unreadable(`cannot read ${url}/admin/tasks: ${why}`);
    }
    if (!res.ok) throw new Unreadable(refusal(res.status, body));
    const list = parseRecord(body)?.tasks;
    const tasks = Array.isArray(list) ? list.map(decodeTask) : [undefined];
    if (tasks.some((t) => t === undefined))
      throw new Unreadable(`${url}/admin/tasks is not an llm-proxy task list`);
    return tasks as LiveTask[];
  } finally {
    disarm();
    stop.removeEventListener('abort', abort);
  }
}

/** '850ms', '12.3s', '4m05s', '2h03m'. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

interface Node {
  task: LiveTask;
  children: Node[];
}

const oldestFirst = (a: Node, b: Node): number =>
  b.task.ageMs - a.task.ageMs || a.task.id - b.task.id;

/**
 * The tree: a task spawned in another task's own scope (named `<scope>/<task>#<id>` after
 * it) hangs under that task; the rest are roots, grouped by owner (sorted by name, so a
 * watched view keeps its layout). A root may run in the scope of a task that has settled
 * (a race's loser still finishing): its SCOPE column says which.
 */
function taskTree(tasks: readonly LiveTask[]): Map<string, Node[]> {
  const nodes = new Map<string, Node>();
  for (const t of tasks) nodes.set(`${t.scope}/${t.task}#${t.id}`, { task: t, children: [] });
  const groups = new Map<string, Node[]>();
  for (const node of nodes.values()) {
    const parent = nodes.get(node.task.scope);
    if (parent !== undefined) {
      parent.children.push(node);
      continue;
    }
    const key = node.task.owner;
    groups.set(key, [...(groups.get(key) ?? []), node]);
  }
  for (const node of nodes.values()) node.children.sort(oldestFirst);
  for (const roots of groups.values()) roots.sort(oldestFirst);
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The header line: how many tasks live, running, cancelling, leaked. */
export function summaryLine(tasks: readonly LiveTask[]): string {
  const count = (pred: (t: LiveTask) => boolean): number => tasks.filter(pred).length;
  return (
    `${tasks.length} live ${tasks.length === 1 ? 'task' : 'tasks'}: ` +
    `${count((t) => t.state === 'running')} running, ` +
    `${count((t) => t.state === 'cancelling')} cancelling, ${count((t) => t.leaked)} leaked`
  );
}

type Line = { group: string } | { cells: string[] };

/** The view: header, then per group its name and its task rows, aligned as one table. */
export function formatTasks(tasks: readonly LiveTask[], heading: string): string {
  const header = `${heading}: ${summaryLine(tasks)}`;
  if (tasks.length === 0) return header;
  const lines: Line[] = [{ cells: ['ID', 'TASK', 'STATE', 'AGE', 'CANCEL', 'LEAK', 'SCOPE'] }];
  const walk = (node: Node, depth: number, groupOwner: string): void => {
    const t = node.task;
    const name = t.owner === groupOwner ? t.task : `${t.owner}/${t.task}`;
    const indent = depth === 0 ? '' : `${'  '.repeat(depth - 1)}└ `;
    lines.push({
      cells: [
        `#${t.id}`,
        `${indent}${name}`,
        t.state,
        formatAge(t.ageMs),
        t.cancelReason ?? '-',
        t.leaked ? 'LEAKED' : '',
        // A child's scope is its parent's own: the tree says it already.
        depth === 0 ? t.scope : '',
      ],
    });
    for (const child of node.children) walk(child, depth + 1, groupOwner);
  };
  for (const [group, roots] of taskTree(tasks)) {
    lines.push({ group });
    for (const root of roots) walk(root, 0, root.task.owner);
  }
  const rows = lines.flatMap((l) => ('cells' in l ? [l.cells] : []));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const text = (l: Line): string =>
    'group' in l
      ? l.group
      : l.cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
  return [header, ...lines.map(text)].join('\n');
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * Runs the command. `stop` ends a --watch (the CLI entry point aborts it on SIGINT/SIGTERM);
 * frames are written to `out`, cleared between frames when it is a terminal.
 */
export async function tasks(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  stop: AbortSignal = new AbortController().signal,
  out: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stdout,
): Promise<number> {
  const args = parseTasksArgs(argv, env);
  if (typeof args === 'string') {
    process.stderr.write(`tasks: ${args}\n${TASKS_USAGE}\n`);
    return 2;
  }
  let leakedSeen = false;
  let lastFailed = false;
  for (let frame = 0; !stop.aborted; frame++) {
    const heading = args.watch
      ? `llm-proxy tasks at ${args.url}, ${new Date().toISOString()}`
      : `llm-proxy tasks at ${args.url}`;
    let text: string;
    try {
      const live = await readTasks(args.url, args.adminToken, stop);
      leakedSeen ||= live.some((t) => t.leaked);
      lastFailed = false;
      text = formatTasks(live, heading);
    } catch (err) {
      if (stop.aborted) break;
      if (!(err instanceof Unreadable)) throw err;
      // The first read decides whether there is anything to watch at all.
      if (frame === 0 || !args.watch) {
        process.stderr.write(`tasks: ${err.message}\n`);
        return 2;
      }
      lastFailed = true;
      text = `${heading}: ${err.message}`;
    }
    // A terminal is redrawn in place; a pipe or file gets the frames one after another.
    const before = args.watch && out.isTTY ? CLEAR_SCREEN : frame > 0 ? '----\n' : '';
    out.write(`${before}${text}\n`);
    if (!args.watch || !(await sleep(args.intervalMs, stop))) break;
  }
  return leakedSeen ? 1 : lastFailed ? 2 : 0;
}
