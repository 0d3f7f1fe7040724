/**
 * Label-bound metric children backed by plain numbers, exposed through a prom-client Registry.
 *
 * Why not prom-client's own Counter/Gauge/Histogram on the hot path: a bound child still costs
 * 300-1,000 ns per operation (label hashing, object lookups), and every spawned task and every
 * proxied request touches several of them. These children are fields incremented in place
 * (a few ns); the text exposition is built at scrape time, in the prom-client format, by the
 * same Registry that serves the default process metrics. Label sets are closed: children are
 * created up front from config and fixed vocabularies, so series exist (at 0) from start-up.
 */
import type { Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;
type MetricType = 'counter' | 'gauge' | 'histogram';

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  /** Printed by prom-client's Registry in the OpenMetrics format only. */
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number };
}

abstract class Vec<Child> {
  protected readonly children = new Map<string, { labels: Labels; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // NOTE: prom-client's Registry accepts any object with name/help/type/get(); this is the
    // documented extension point its own collectors use.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract create(): Child;

  /** The child for this exact label set, created (at zero) on first call. Bind once, keep it. */
  labels(labels: Labels): Child {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      for (const n of this.labelNames) {
        if (labels[n] === undefined) throw new Error(`${this.name}: missing label "${n}"`);
      }
      entry = { labels: { ...labels }, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected abstract values(): ExportedValue[];

  get(): {
    name: string;
    help: string;
    type: MetricType;
    values: ExportedValue[];
    aggregator: string;
  } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: 'sum',
    };
  }

  /** prom-client calls reset() on registry.resetMetrics(). */
  reset(): void {
    for (const { child } of this.children.values()) (child as { reset(): void }).reset();
  }
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  reset(): void {
    this.value = 0;
  }
}

export class GaugeChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(v: number): void {
    this.value = v;
  }
  reset(): void {
    this.value = 0;
  }
}

export class CounterVec extends Vec<CounterChild> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry);
  }
  protected create(): CounterChild {
    return new CounterChild();
  }
  protected values(): ExportedValue[] {
    return [...this.children.values()].map(({ labels, child }) => ({
      labels: { ...labels },
      value: child.value,
    }));
  }
}

export class GaugeVec extends Vec<GaugeChild> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    registry: Registry,
    private readonly collect?: () => void,
  ) {
    super(name, help, 'gauge', labelNames, registry);
  }
  protected create(): GaugeChild {
    return new GaugeChild();
  }
  protected values(): ExportedValue[] {
    this.collect?.();
    return [...this.children.values()].map(({ labels, child }) => ({
      labels: { ...labels },
      value: child.value,
    }));
  }
}

/** The latest traced observation in one bucket: an OpenMetrics exemplar. */
export interface Exemplar {
  traceId: string;
  value: number;
  /** Seconds since the epoch, as OpenMetrics writes it. */
  timestamp: number;
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /**
   * Per bucket (non-cumulative, +Inf last), the latest traced observation in it. Allocated by
   * the first traced observation, so a histogram nothing traced observes carries none.
   */
  exemplars: (Exemplar | undefined)[] | undefined;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }
  /**
   * Counts `v`. With `traceId` (a sampled span's: sampledTraceId in proxy-metrics.ts) the observation also
   * becomes its bucket's exemplar; without one this is the plain count and nothing more.
   */
  observe(v: number, traceId?: string): void {
    const b = this.buckets;
    let i = 0;
    for (; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
    if (traceId !== undefined) this.exemplify(i, v, traceId);
  }
  private exemplify(bucket: number, value: number, traceId: string): void {
    const all = (this.exemplars ??= new Array<Exemplar | undefined>(this.buckets.length + 1));
    const timestamp = Date.now() / 1000;
    const e = all[bucket];
    if (e === undefined) all[bucket] = { traceId, value, timestamp };
    else {
      e.traceId = traceId;
      e.value = value;
      e.timestamp = timestamp;
    }
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.exemplars = undefined;
  }
}

/** One `_bucket` sample, with its exemplar when it has one (prom-client prints it in OpenMetrics). */
function bucketSample(
  metricName: string,
  labels: Record<string, string | number>,
  value: number,
  e: Exemplar | undefined,
): ExportedValue {
  if (e === undefined) return { metricName, labels, value };
  const exemplar = { labelSet: { trace_id: e.traceId }, value: e.value, timestamp: e.timestamp };
  return { metricName, labels, value, exemplar };
}

export class HistogramVec extends Vec<HistogramChild> {
  readonly buckets: readonly number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', labelNames, registry);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  protected values(): ExportedValue[] {
    const out: ExportedValue[] = [];
    for (const { labels, child } of this.children.values()) {
      const bucket = `${this.name}_bucket`;
      const ex = child.exemplars;
      let cumulative = 0;
      child.buckets.forEach((le, i) => {
        cumulative += child.counts[i]!;
        out.push(bucketSample(bucket, { ...labels, le }, cumulative, ex?.[i]));
      });
      const inf = ex?.[child.buckets.length];
      out.push(bucketSample(bucket, { ...labels, le: '+Inf' }, child.count, inf));
      out.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: child.sum });
      out.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: child.count });
    }
    return out;
  }
}

/** One bound child per label value of a closed vocabulary, e.g. per outcome. */
export function byLabel<K extends string, C>(keys: readonly K[], make: (k: K) => C): Record<K, C> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, C>;
}
