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

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }
  observe(v: number): void {
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
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
      let cumulative = 0;
      child.buckets.forEach((le, i) => {
        cumulative += child.counts[i]!;
        out.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le },
          value: cumulative,
        });
      });
      out.push({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: '+Inf' },
        value: child.count,
      });
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
