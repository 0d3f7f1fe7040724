/* global AbortController, AbortSignal, URL, console, fetch, process */
/**
 * The Prometheus side of the CI leak gate (test/e2e/leak-gate.sh), against a live server:
 *   node test/e2e/promql.js wait PROM_URL EXPR            until EXPR returns data
 *   node test/e2e/promql.js check PROM_URL [UNIX_TIME]    every dashboard panel query, every
 *                                                         recording rule and the traffic
 *                                                         coverage checks return data (now,
 *                                                         or at UNIX_TIME: before the drain,
 *                                                         series of running loops only exist
 *                                                         while they run)
 *   node test/e2e/promql.js alert PROM_URL ALERT          ALERT's expression (from
 *                                                         prometheus/rules/alerts.yml) is true
 *                                                         and Prometheus shows it pending/firing
 *   node test/e2e/promql.js quiet PROM_URL ALERT          ALERT's expression is empty (once)
 *   node test/e2e/promql.js exemplars PROM_URL METRIC [SPANS]  /api/v1/query_exemplars has
 *                                                         exemplars of METRIC with a 32-hex
 *                                                         trace_id, one of them a trace in
 *                                                         SPANS (otlp-receiver.js's file)
 * Empty queries are retried until E2E_QUERY_RETRY_MS (30000) has passed since the first.
 * Exit 0 when every query returned data, 1 otherwise (with a table of the failures).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { sleep } from '../../dist/tasks/timers.js';
import { readSpans } from './otlp-receiver.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const forever = new AbortController().signal;
const retryMs = Number(process.env.E2E_QUERY_RETRY_MS ?? 30_000);

/** Grafana's built-in variables, as a 1-2 minute CI run with a 1s scrape can answer them. */
const BUILTINS = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '5m',
  __range_s: '300',
  __range_ms: '300000',
  __interval_ms: '60000',
};

/**
 * Dashboard variables: interval variables take 1m, every other kind its "All" value (a
 * regex), which is what the panels see with "All" selected.
 */
function dashboardVariables(dashboard) {
  const vars = { ...BUILTINS };
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'datasource') continue;
    vars[v.name] = v.type === 'interval' ? '1m' : (v.allValue ?? '.*');
  }
  return vars;
}

/** Replaces $name, ${name} and ${name:format}; unknown names are left for the caller to see. */
function substitute(expr, vars) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced, bare) => {
    const value = vars[braced ?? bare];
    return value === undefined ? whole : value;
  });
}

function panelsOf(panels) {
  return (panels ?? []).flatMap((p) => [p, ...panelsOf(p.panels)]);
}

/** Every PromQL query of every dashboard: panel targets and query variables. */
function dashboardChecks() {
  const dir = join(root, 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const vars = dashboardVariables(dashboard);
      const fromPanels = panelsOf(dashboard.panels).flatMap((panel) =>
        (panel.targets ?? [])
          .filter((t) => typeof t.expr === 'string' && t.expr.trim() !== '' && t.hide !== true)
          .map((t) => ({
            source: `${file} "${panel.title}" ${t.refId ?? ''}`.trim(),
            expr: substitute(t.expr, vars),
          })),
      );
      // label_values(metric, label) only lists values when the metric has series.
      const fromVariables = (dashboard.templating?.list ?? [])
        .map((v) => ({ v, m: /^label_values\((.+),\s*\w+\)$/.exec(String(v.query ?? '').trim()) }))
        .filter(({ m }) => m !== null)
        .map(({ v, m }) => ({
          source: `${file} variable $${v.name}`,
          expr: substitute(m[1], vars),
        }));
      return [...fromPanels, ...fromVariables];
    });
}

function ruleGroups(file) {
  return parse(readFileSync(join(root, 'prometheus', 'rules', file), 'utf8')).groups;
}

function recordingChecks() {
  return ruleGroups('recording.yml').flatMap((g) =>
    g.rules
      .filter((r) => r.record !== undefined)
      .map((r) => ({ source: `recording rule ${r.record}`, expr: r.record })),
  );
}

/**
 * Non-empty is not enough for a leak gate that passes: the traffic must have made the
 * proxy cancel things (lost races, clients gone), hit the caches and written to Redis.
 */
const COVERAGE = [
  ['races had losers', 'sum(llm_proxy_fallback_attempts_total{result="lost"}) > 0'],
  [
    'lost races cancelled',
    'sum(llm_proxy_task_cancellations_total{owner="fallback_engine",reason="lost_race"}) > 0',
  ],
  [
    'departed clients cancelled',
    'sum(llm_proxy_task_cancellations_total{owner="http",reason="client_gone"}) > 0',
  ],
  ['cancelled tasks settled', 'sum(llm_proxy_task_cancel_duration_seconds_count) > 0'],
  ['streams timed to first token', 'sum(llm_proxy_upstream_ttft_seconds_count) > 0'],
  ['response cache hits', 'sum(llm_proxy_cache_requests_total{result="hit"}) > 0'],
  ['Redis connected', 'min(llm_proxy_cache_redis_up) == 1'],
  ['Redis looked up on memory misses', 'sum(llm_proxy_cache_requests_total{cache="redis"}) > 0'],
  ['conversations condensed', 'sum(llm_proxy_condense_total{result="condensed"}) > 0'],
  ['summaries reused', 'sum(llm_proxy_condense_total{result="cache_hit"}) > 0'],
  [
    'summaries persisted to Redis',
    'sum(llm_proxy_tasks_finished_total{task="persist",outcome="completed"}) > 0',
  ],
  ['health probes ran', 'sum(llm_proxy_tasks_started_total{task="probe"}) > 0'],
  ['404 answered', 'sum(llm_proxy_http_requests_total{status="404"}) > 0'],
  ['400 answered', 'sum(llm_proxy_http_requests_total{status="400"}) > 0'],
  [
    'embeddings answered',
    'sum(llm_proxy_http_requests_total{route="/v1/embeddings",status="200"}) > 0',
  ],
  [
    'Responses answered',
    'sum(llm_proxy_http_requests_total{route="/v1/responses",status="200"}) > 0',
  ],
  [
    'stored responses read back',
    'sum(llm_proxy_http_requests_total{route="/v1/responses/{id}",status="200"}) > 0',
  ],
  [
    'Messages answered',
    'sum(llm_proxy_http_requests_total{route="/v1/messages",status="200"}) > 0',
  ],
].map(([what, expr]) => ({ source: `coverage: ${what}`, expr }));

/** EXPR's instant result now, or at `at` (Unix seconds) when given. */
async function query(prom, expr, at) {
  const url = new URL('/api/v1/query', prom);
  url.searchParams.set('query', expr);
  if (at !== undefined) url.searchParams.set('time', String(at));
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const body = await res.json();
    if (body.status !== 'success') return { error: `${body.errorType}: ${body.error}` };
    const { resultType, result } = body.data;
    return { count: resultType === 'scalar' || resultType === 'string' ? 1 : result.length };
  } catch (err) {
    return { error: `unreachable: ${err?.cause?.message ?? err}`, retry: true };
  }
}

/**
 * Queries every check, then again those still empty, once a second, until all returned data
 * or E2E_QUERY_RETRY_MS passed: one deadline for the lot, so failures cost ~30 s, not 30 s
 * each. A PromQL error is final (retrying cannot fix it). At most 8 queries in flight (a
 * 2-core CI machine runs the proxy and Prometheus too). With `at` (Unix seconds), a query
 * empty now passes if it had data then.
 */
async function evaluateAll(prom, checks, { limit = 8, at } = {}) {
  const until = Date.now() + retryMs;
  const results = checks.map((c) => ({ ...c, ok: false, why: 'not queried' }));
  let pending = results;
  for (;;) {
    let next = 0;
    const lane = async () => {
      while (next < pending.length) {
        const r = pending[next++];
        let answer = await query(prom, r.expr);
        if (at !== undefined && answer.count === 0) answer = await query(prom, r.expr, at);
        r.ok = answer.count > 0;
        r.count = answer.count ?? 0;
        r.why = answer.error ?? 'empty result';
        r.final = answer.error !== undefined && !answer.retry;
      }
    };
    await Promise.all(Array.from({ length: limit }, lane));
    pending = pending.filter((r) => !r.ok && !r.final);
    if (pending.length === 0 || Date.now() >= until) return results;
    await sleep(1_000, forever);
  }
}

const oneLine = (expr) => expr.replace(/\s+/g, ' ').trim();

function report(results) {
  const failed = results.filter((r) => !r.ok);
  for (const r of results.filter((x) => x.ok)) {
    console.log(`  ok   ${String(r.count).padStart(3)}  ${r.source}`);
  }
  if (failed.length > 0) {
    console.log(`\nFAILED ${failed.length} of ${results.length} queries:`);
    console.log('  SOURCE | WHY | QUERY');
    for (const r of failed) console.log(`  ${r.source} | ${r.why} | ${oneLine(r.expr)}`);
    return 1;
  }
  console.log(`all ${results.length} queries returned data`);
  return 0;
}

async function waitFor(prom, expr) {
  return report(await evaluateAll(prom, [{ source: 'wait', expr }]));
}

async function check(prom, at) {
  const checks = [...dashboardChecks(), ...recordingChecks(), ...COVERAGE];
  const unresolved = checks.filter((c) => /\$\{?\w/.test(c.expr));
  if (unresolved.length > 0) {
    for (const c of unresolved)
      console.log(`  unresolved variable: ${c.source}: ${oneLine(c.expr)}`);
    return 1;
  }
  return report(await evaluateAll(prom, checks, { at: at === undefined ? undefined : Number(at) }));
}

async function activeAlerts(prom) {
  try {
    const res = await fetch(new URL('/api/v1/alerts', prom), {
      signal: AbortSignal.timeout(5_000),
    });
    return (await res.json()).data.alerts;
  } catch {
    return [];
  }
}

function alertRule(name) {
  const rule = ruleGroups('alerts.yml')
    .flatMap((g) => g.rules)
    .find((r) => r.alert === name);
  if (rule === undefined) throw new Error(`no alert ${name} in prometheus/rules/alerts.yml`);
  return rule;
}

/** The alert's expression returns nothing now: it does not fire on a clean run. */
async function quiet(prom, name) {
  const rule = alertRule(name);
  const answer = await query(prom, rule.expr);
  if (answer.count === 0) {
    console.log(`alert ${name}: expression empty, as it should be`);
    return 0;
  }
  console.log(`alert ${name}: ${answer.error ?? `${answer.count} series`}: ${oneLine(rule.expr)}`);
  return 1;
}

async function alert(prom, name) {
  const rule = alertRule(name);
  console.log(`alert ${name}: ${oneLine(rule.expr)}`);
  const results = await evaluateAll(prom, [
    { source: `alert ${name} expression`, expr: rule.expr },
  ]);
  // The rule manager's own view: pending (or firing once `for:` has passed).
  const until = Date.now() + retryMs;
  let state = 'inactive';
  while (Date.now() < until) {
    const active = (await activeAlerts(prom)).filter((a) => a.labels.alertname === name);
    if (active.length > 0) {
      state = active.map((a) => `${a.state} ${a.labels.owner}/${a.labels.task}`).join(', ');
      break;
    }
    await sleep(1_000, forever);
  }
  results.push({
    source: `alert ${name} active in /api/v1/alerts (${state})`,
    expr: `ALERTS{alertname="${name}"}`,
    ok: state !== 'inactive',
    count: state === 'inactive' ? 0 : 1,
    why: 'not pending or firing',
  });
  return report(results);
}

/** The trace ids of METRIC's exemplars Prometheus stored in the last 15 minutes. */
async function exemplarTraceIds(prom, metric) {
  const url = new URL('/api/v1/query_exemplars', prom);
  const now = Date.now() / 1000;
  url.searchParams.set('query', metric);
  url.searchParams.set('start', String(now - 900));
  url.searchParams.set('end', String(now + 60));
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const body = await res.json();
    if (body.status !== 'success') return { error: `${body.errorType}: ${body.error}` };
    const ids = body.data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id));
    return { ids };
  } catch (err) {
    return { error: `unreachable: ${err?.cause?.message ?? err}` };
  }
}

/**
 * Exemplars arrived: Prometheus (with exemplar storage) has some on METRIC, every one with a
 * 32-hex trace_id, and (given the receiver's file) one names a trace the proxy exported.
 */
async function exemplars(prom, metric, spansFile) {
  const until = Date.now() + retryMs;
  let why = 'none';
  for (;;) {
    const { ids, error } = await exemplarTraceIds(prom, metric);
    const traces = new Set(spansFile ? readSpans(spansFile).map((s) => s.traceId) : []);
    if (error !== undefined) why = error;
    else if (ids.length === 0) why = 'no exemplar stored';
    else if (!ids.every((id) => /^[0-9a-f]{32}$/.test(id ?? ''))) {
      why = `an exemplar without a 32-hex trace_id: ${ids.find((id) => !/^[0-9a-f]{32}$/.test(id ?? ''))}`;
    } else if (spansFile && !ids.some((id) => traces.has(id))) {
      why = `${ids.length} exemplars, none a trace the receiver got (${traces.size} traces)`;
    } else {
      const seen = spansFile
        ? `, ${ids.filter((id) => traces.has(id)).length} of them received traces`
        : '';
      console.log(`${metric}: ${ids.length} exemplars with a trace_id${seen}`);
      return 0;
    }
    if (Date.now() >= until) break;
    await sleep(1_000, forever);
  }
  console.log(`${metric}: ${why}`);
  return 1;
}

const [command, prom, arg, arg2] = process.argv.slice(2);
const commands = {
  wait: () => waitFor(prom, arg),
  check: () => check(prom, arg),
  alert: () => alert(prom, arg),
  quiet: () => quiet(prom, arg),
  exemplars: () => exemplars(prom, arg, arg2),
};
if (commands[command] === undefined || prom === undefined) {
  console.error(
    'usage: promql.js (wait PROM_URL EXPR | check PROM_URL [UNIX_TIME] | (alert|quiet) PROM_URL ALERT |' +
      ' exemplars PROM_URL METRIC [SPANS_FILE])',
  );
  process.exitCode = 2;
} else {
  process.exitCode = await commands[command]();
}
