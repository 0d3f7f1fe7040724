/**
 * The Prometheus scrape in both formats, and a reader for them.
 *
 * Writing: /metrics answers the Prometheus text format (0.0.4) unless the scraper asks for
 * OpenMetrics (Prometheus does by default), which alone carries exemplars: the trace id of a
 * request-duration or upstream-duration observation, so a latency spike opens its trace.
 * Reading: enough to pick samples by name and labels (check-leaks, tests), in either format;
 * comment lines are skipped, label values unescaped, and an exemplar kept when a line has one.
 */
import { Registry, type OpenMetricsContentType } from 'prom-client';

/** One scrape's answer: the body and its content type. */
export interface Exposition {
  body: string;
  contentType: string;
}

const OPENMETRICS = 'application/openmetrics-text';

/** The q-value of one Accept media range (1 when it has none; 0 when it is malformed). */
function qOf(params: readonly string[]): number {
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k?.toLowerCase() === 'q') {
      const q = Number(v);
      return Number.isFinite(q) ? q : 0;
    }
  }
  return 1;
}

/**
 * True when `accept` prefers OpenMetrics: it names application/openmetrics-text with a
 * q-value above 0 and at least that of text/plain (or the wildcards that cover it).
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined || !accept.toLowerCase().includes(OPENMETRICS)) return false;
  let om = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const media = type.trim().toLowerCase();
    const q = qOf(params);
    if (media === OPENMETRICS) om = Math.max(om, q);
    else if (media === 'text/plain' || media === 'text/*' || media === '*/*') {
      text = Math.max(text, q);
    }
  }
  return om > 0 && om >= text;
}

/**
 * `registry` in the format `accept` asks for. NOTE: prom-client renders OpenMetrics only from
 * a Registry made for it, and renaming counters for it (`x_total` is family `x`) it rewrites
 * each metric's `name` in place; so the OpenMetrics scrape goes through a registry of thin
 * views, built per scrape (one per 15 s or so), and the text format's names stay untouched.
 */
export async function exposition(
  registry: Registry,
  accept: string | undefined,
): Promise<Exposition> {
  if (!wantsOpenMetrics(accept)) {
    return { body: await registry.metrics(), contentType: registry.contentType };
  }
  const om = new Registry<OpenMetricsContentType>();
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const metrics = registry.getMetricsAsArray() as unknown as Registered[];
  const names = new Set(metrics.map((m) => m.name));
  for (const metric of metrics) {
    const view = openMetricsView(metric, names);
    om.registerMetric(view as unknown as Parameters<Registry['registerMetric']>[0]);
  }
  return { body: await om.metrics(), contentType: om.contentType };
}

/**
 * `metric` as an OpenMetrics family: a counter's family drops `_total` (its samples keep it).
 * NOTE: the contract has the gauge `llm_proxy_tasks_leaked` beside the counter
 * `llm_proxy_tasks_leaked_total`, whose OpenMetrics family would have the gauge's name, which
 * OpenMetrics forbids (and prom-client refuses). Such a counter goes out as type `unknown`
 * under its full name: the same series in Prometheus, only its metadata type differs.
 */
function openMetricsView(metric: Registered, names: ReadonlySet<string>): Registered {
  let { name, type } = metric;
  if (type === 'counter') {
    const family = name.replace(/_total$/, '');
    if (family === name || !names.has(family)) name = family;
    else type = 'unknown';
  }
  return {
    name,
    help: metric.help,
    type,
    get: async () => ({ ...(await metric.get()), name, type }),
    reset: () => metric.reset(),
  };
}

/** What a Registry holds, as its scrape uses it (prom-client's types leave out get/reset). */
interface Registered {
  name: string;
  help: string;
  type: string;
  get(): Promise<{ name: string }> | { name: string };
  reset(): void;
}

export interface Exemplar {
  labels: Record<string, string>;
  value: number;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** OpenMetrics only: the `# {labels} value [timestamp]` after the sample. */
  exemplar?: Exemplar;
}

const LABELS = String.raw`\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\}`;
const LINE = new RegExp(
  String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:${LABELS})?\s+(\S+)(?:\s+[-0-9.e+]+)?` +
    String.raw`(?:\s+#\s+${LABELS}\s+(\S+)(?:\s+\S+)?)?$`,
);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of (text ?? '').matchAll(LABEL)) {
    labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
  }
  return labels;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const sample: Sample = { name: m[1]!, labels: labelsOf(m[2]), value: Number(m[3]) };
    if (m[4] !== undefined) sample.exemplar = { labels: labelsOf(m[4]), value: Number(m[5]) };
    out.push(sample);
  }
  return out;
}

/** Samples named `name` whose labels include every pair in `match`. */
export function select(
  samples: readonly Sample[],
  name: string,
  match: Record<string, string> = {},
): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

export function sum(
  samples: readonly Sample[],
  name: string,
  match: Record<string, string> = {},
): number {
  return select(samples, name, match).reduce((acc, s) => acc + s.value, 0);
}
