/**
 * The proxy's traffic metrics (contract names). Every label value comes from config
 * (provider names) or a fixed vocabulary (routes, outcomes, results); children are bound
 * up front so the request path only increments numbers.
 */
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import {
  byLabel,
  CounterVec,
  GaugeVec,
  HistogramVec,
  type CounterChild,
  type GaugeChild,
  type HistogramChild,
} from './metric-vec.js';

export const ROUTES = [
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/responses',
  '/v1/responses/{id}',
  '/v1/messages',
  '/v1/messages/count_tokens',
  '/v1/models',
  '/healthz',
  '/readyz',
  '/metrics',
  '/admin/tasks',
  '/admin/drain',
  'other',
] as const;
export type Route = (typeof ROUTES)[number];

export const UPSTREAM_OUTCOMES = [
  'ok',
  'client_error',
  'server_error',
  'rate_limited',
  'timeout',
  'connection',
  'invalid_response',
  'cancelled',
] as const;
export type UpstreamOutcome = (typeof UPSTREAM_OUTCOMES)[number];
export const ATTEMPT_RESULTS = ['won', 'lost', 'failed'] as const;
export type AttemptResult = (typeof ATTEMPT_RESULTS)[number];
export const HEALTH_STATES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];
export const BREAKER_STATES = { closed: 0, half_open: 1, open: 2 } as const;
export const SHED_REASONS = ['overload', 'rate_limit', 'draining'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const OVERHEAD_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/**
 * The trace id an observation carries as its exemplar: the span's, when it is sampled (an
 * exemplar must open a trace the backend has), else none. Untraced requests have no span
 * context and pay one comparison.
 */
export function sampledTraceId(ctx: SpanContext | undefined): string | undefined {
  return ctx !== undefined && (ctx.traceFlags & TraceFlags.SAMPLED) !== 0 ? ctx.traceId : undefined;
}

export interface ProviderInstruments {
  readonly outcomes: Record<UpstreamOutcome, CounterChild>;
  readonly duration: HistogramChild;
  readonly ttft: HistogramChild;
  readonly attempts: Record<AttemptResult, CounterChild>;
  readonly up: GaugeChild;
  readonly health: Record<HealthState, GaugeChild>;
  readonly breaker: GaugeChild;
  readonly tokensIn: CounterChild;
  readonly tokensOut: CounterChild;
  readonly retries: CounterChild;
}

export class ProxyMetrics {
  private readonly requests: CounterVec;
  private readonly requestDuration: HistogramVec;
  readonly overhead: HistogramChild;
  readonly inflight: GaugeChild;
  readonly shed: Record<ShedReason, CounterChild>;
  private readonly providers: Map<string, ProviderInstruments>;
  private readonly durationByRoute = new Map<string, HistogramChild>();
  private readonly countByKey = new Map<string, CounterChild>();

  constructor(registry: Registry, providerNames: readonly string[]) {
    this.requests = new CounterVec(
      'llm_proxy_http_requests_total',
      'HTTP requests answered, by route, method and status.',
      ['route', 'method', 'status'],
      registry,
    );
    this.requestDuration = new HistogramVec(
      'llm_proxy_http_request_duration_seconds',
      'HTTP request duration, from arrival until the response (or stream) ended.',
      ['route', 'method'],
      LATENCY_BUCKETS,
      registry,
    );
    this.overhead = new HistogramVec(
      'llm_proxy_overhead_seconds',
      'Time spent in the proxy per proxied request, upstream wait excluded.',
      [],
      OVERHEAD_BUCKETS,
      registry,
    ).labels({});
    this.inflight = new GaugeVec(
      'llm_proxy_inflight_requests',
      'Proxied requests in flight.',
      [],
      registry,
    ).labels({});
    const shed = new CounterVec(
      'llm_proxy_requests_shed_total',
      'Requests refused before any work, by reason (overload|rate_limit|draining).',
      ['reason'],
      registry,
    );
    this.shed = byLabel(SHED_REASONS, (reason) => shed.labels({ reason }));
    this.providers = providerInstruments(registry, providerNames);
  }

  provider(name: string): ProviderInstruments {
    const p = this.providers.get(name);
    if (p === undefined) throw new Error(`provider ${name} has no metrics: not in config`);
    return p;
  }

  /**
   * Counts one answered request; status is a number, so labels stay a closed set. `traceId`
   * (a sampled request's) becomes the duration's exemplar.
   */
  request(route: Route, method: string, status: number, seconds: number, traceId?: string): void {
    const m = method === 'GET' || method === 'POST' ? method : 'OTHER';
    const key = `${route} ${m} ${status}`;
    let c = this.countByKey.get(key);
    if (c === undefined) {
      c = this.requests.labels({ route, method: m, status: String(status) });
      this.countByKey.set(key, c);
    }
    c.inc();
    const dk = `${route} ${m}`;
    let h = this.durationByRoute.get(dk);
    if (h === undefined) {
      h = this.requestDuration.labels({ route, method: m });
      this.durationByRoute.set(dk, h);
    }
    h.observe(seconds, traceId);
  }
}

/** The per-provider metric families, registered in the order /metrics lists them. */
function providerFamilies(registry: Registry) {
  const outcomes = new CounterVec(
    'llm_proxy_upstream_requests_total',
    'Requests sent to providers, by outcome.',
    ['provider', 'outcome'],
    registry,
  );
  const duration = new HistogramVec(
    'llm_proxy_upstream_duration_seconds',
    'Upstream request duration until the answer (or stream) ended.',
    ['provider'],
    LATENCY_BUCKETS,
    registry,
  );
  const ttft = new HistogramVec(
    'llm_proxy_upstream_ttft_seconds',
    'Time to the first streamed token from the provider.',
    ['provider'],
    LATENCY_BUCKETS,
    registry,
  );
  const attempts = new CounterVec(
    'llm_proxy_fallback_attempts_total',
    'Fallback engine attempts by provider and result (won|lost|failed).',
    ['provider', 'result'],
    registry,
  );
  const up = new GaugeVec(
    'llm_proxy_provider_up',
    '1 when the provider is healthy or degraded, 0 when unhealthy.',
    ['provider'],
    registry,
  );
  const health = new GaugeVec(
    'llm_proxy_provider_health',
    'Provider health state (1 for the current state).',
    ['provider', 'state'],
    registry,
  );
  const breaker = new GaugeVec(
    'llm_proxy_circuit_breaker_state',
    'Circuit breaker state per provider: 0 closed, 1 half_open, 2 open.',
    ['provider'],
    registry,
  );
  const tokens = new CounterVec(
    'llm_proxy_tokens_total',
    'Tokens reported by providers, by direction (input|output).',
    ['provider', 'direction'],
    registry,
  );
  const retries = new CounterVec(
    'llm_proxy_upstream_retries_total',
    'Retries of upstream requests.',
    ['provider'],
    registry,
  );
  return { outcomes, duration, ttft, attempts, up, health, breaker, tokens, retries };
}

/** Each configured provider's instruments, registered up front: up and healthy to start with. */
function providerInstruments(
  registry: Registry,
  providerNames: readonly string[],
): Map<string, ProviderInstruments> {
  const { outcomes, duration, ttft, attempts, up, health, breaker, tokens, retries } =
    providerFamilies(registry);
  const byName = new Map<string, ProviderInstruments>();
  for (const provider of providerNames) {
    const p = { provider };
    const inst: ProviderInstruments = {
      outcomes: byLabel(UPSTREAM_OUTCOMES, (outcome) => outcomes.labels({ ...p, outcome })),
      duration: duration.labels(p),
      ttft: ttft.labels(p),
      attempts: byLabel(ATTEMPT_RESULTS, (result) => attempts.labels({ ...p, result })),
      up: up.labels(p),
      health: byLabel(HEALTH_STATES, (state) => health.labels({ ...p, state })),
      breaker: breaker.labels(p),
      tokensIn: tokens.labels({ ...p, direction: 'input' }),
      tokensOut: tokens.labels({ ...p, direction: 'output' }),
      retries: retries.labels(p),
    };
    inst.up.set(1);
    inst.health.healthy.set(1);
    byName.set(provider, inst);
  }
  return byName;
}
