/**
 * Process-level metrics: prom-client's default Node metrics (minus the three gauges whose
 * `_total` names fail `promtool check metrics`), build info, and event-loop lag.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { GaugeVec } from './metric-vec.js';

const LINT_OFFENDERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Returns a function that stops the event-loop monitor (called when the app closes). */
export function registerRuntimeMetrics(registry: Registry, version: string): () => void {
  for (const name of LINT_OFFENDERS) registry.removeSingleMetric(name);
  new GaugeVec(
    'llm_proxy_build_info',
    'Always 1; labelled with the running version.',
    ['version'],
    registry,
  )
    .labels({ version })
    .set(1);
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const lag = new GaugeVec(
    'llm_proxy_event_loop_lag_seconds',
    'p99 event-loop delay since the previous scrape.',
    [],
    registry,
    () => {
      lagChild.set(delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
      delay.reset();
    },
  );
  const lagChild = lag.labels({});
  return () => delay.disable();
}
