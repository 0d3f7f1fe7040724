/**
 * The configuration schema: every key, its type and its default, in one place. Objects are
 * strict so a typo is an error rather than a silently ignored key. Cross-field rules that
 * span sections (unique provider names, summarizers that someone serves) live in
 * cross-checks.ts so they can be reported even when other parts of the file are invalid.
 * docs/configuration.md is the reference for users; keep the two in step.
 */
import { z } from 'zod';
import {
  flag,
  int,
  nonNegativeInt,
  optionalSecret,
  positiveInt,
  redisUrl,
  requiredSecret,
} from './fields.js';
import { providerSchema } from './provider-schema.js';

export const ROUTING_MODES = ['sequential', 'parallel', 'hedged'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const TASK_KEY = /^[a-z_]+\/[a-z_]+$/;

const MiB = 1024 * 1024;

function isCorsOrigin(value: string): boolean {
  if (value === '*') return true;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: int(0, 65_535).default(8080),
  bodyLimitBytes: positiveInt().default(4 * MiB),
  /**
   * Requests in flight (body received whole, being served) beyond which the proxy sheds
   * load with 503 + Retry-After.
   */
  maxInFlight: positiveInt().default(256),
  /** Request bodies being received at once, apart from maxInFlight: past it, 503. */
  maxReceiving: positiveInt().default(256),
  /** Of those, with one client key: past it, 429 (a quarter, so one key cannot take all). */
  maxReceivingPerKey: positiveInt().default(64),
  shutdownDeadlineMs: positiveInt().default(15_000),
  /**
   * How long a client may take to send a whole request, headers and body: past it Node
   * answers 408 and closes the connection, so a slow sender holds its receiving place no longer.
   */
  receiveTimeoutMs: positiveInt().default(30_000),
  /** One request, body in to last byte out. 10 min: the OpenAI SDK's own default timeout. */
  requestTimeoutMs: positiveInt().default(600_000),
  /**
   * Liveness (/healthz) that knows the background loops: 503 when a critical loop has not
   * completed an iteration in `stalledIntervals` intervals, or (when the threshold is > 0)
   * when that many leaked tasks are still running.
   */
  watchdog: z
    .strictObject({
      loops: z
        .array(
          z
            .string()
            .regex(TASK_KEY, 'loops are "owner/task" in snake_case, e.g. health_checker/loop'),
        )
        .default(['health_checker/loop']),
      stalledIntervals: positiveInt().default(3),
      leakedTasksThreshold: nonNegativeInt().default(0),
    })
    .prefault({}),
  cors: z
    .strictObject({
      origins: z
        .array(z.string().refine(isCorsOrigin, 'must be "*" or an origin like https://app.example'))
        .default([]),
    })
    .prefault({}),
});

const rateLimitSchema = z
  .strictObject({
    requestsPerMinute: positiveInt(),
    burst: positiveInt().optional(),
  })
  .transform(({ requestsPerMinute, burst }) => ({
    requestsPerMinute,
    burst: burst ?? requestsPerMinute,
  }));

const authSchema = z.strictObject({
  /** Empty list: an open proxy (the app logs a warning). */
  apiKeys: z.array(requiredSecret('key')).default([]),
  /** Absent (or empty): admin routes always refuse. */
  adminToken: optionalSecret(),
  /** When set, /metrics needs `Authorization: Bearer <metricsToken>`. Empty is an error. */
  metricsToken: requiredSecret('token').optional(),
  rateLimit: rateLimitSchema.optional(),
});

const routingSchema = z.strictObject({
  mode: z.enum(ROUTING_MODES).default('sequential'),
  hedgeDelayMs: nonNegativeInt().default(500),
  maxParallel: int(1, 16).default(2),
  retries: z
    .strictObject({
      /** Total tries per provider, the first one included. */
      maxAttempts: positiveInt().default(2),
      baseDelayMs: nonNegativeInt().default(100),
      maxDelayMs: nonNegativeInt().default(2000),
    })
    .superRefine((r, ctx) => {
      if (r.maxDelayMs < r.baseDelayMs) {
        ctx.addIssue({ code: 'custom', path: ['maxDelayMs'], message: 'must be >= baseDelayMs' });
      }
    })
    .prefault({}),
  breaker: z
    .strictObject({
      failureThreshold: positiveInt().default(5),
      openMs: positiveInt().default(30_000),
      halfOpenMaxTrials: positiveInt().default(1),
    })
    .prefault({}),
  /** A 429's Retry-After is remembered per provider for up to maxMs (0: not remembered). */
  cooldown: z.strictObject({ maxMs: nonNegativeInt().default(60_000) }).prefault({}),
  healthCheck: z
    .strictObject({
      enabled: flag().default(true),
      intervalMs: positiveInt().default(15_000),
      timeoutMs: positiveInt().default(5000),
      unhealthyAfter: positiveInt().default(3),
      healthyAfter: positiveInt().default(2),
      degradedLatencyMs: positiveInt().default(2000),
    })
    .superRefine((h, ctx) => {
      // A probe that outlives its interval would overlap the next one.
      if (h.timeoutMs > h.intervalMs) {
        ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: 'must be <= intervalMs' });
      }
    })
    .prefault({}),
});

const redisSchema = z.strictObject({
  url: redisUrl(),
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only')
    .default('llmp'),
  commandTimeoutMs: positiveInt().default(250),
  writeQueueMax: positiveInt().default(1000),
  /** Bytes of pending background writes at most (see write-behind.ts). */
  writeQueueMaxBytes: positiveInt().default(16 * MiB),
  /** Larger entries stay in this replica's memory only (see unified-cache.ts). */
  maxEntryBytes: positiveInt().default(1 * MiB),
  connectTimeoutMs: positiveInt().default(1000),
});

/** The Redis settings' defaults: what memory-only components get (no Redis to reach). */
export const REDIS_DEFAULTS = redisSchema.omit({ url: true }).parse({});

const cacheSchema = z.strictObject({
  enabled: flag().default(true),
  ttlSeconds: positiveInt().default(3600),
  maxEntries: positiveInt().default(10_000),
  maxBytes: positiveInt().default(64 * MiB),
  /** Larger answers are not cached (a stream stops being captured past it). */
  maxEntryBytes: positiveInt().default(4 * MiB),
  /** Cache requests with temperature > 0 too (same prompt, same answer). */
  cacheNonDeterministic: flag().default(false),
  /** key: each client key has its own entries; shared: one set for all (a hit tells). */
  scope: z.enum(['key', 'shared']).default('key'),
  cleanupIntervalMs: positiveInt().default(60_000),
  monitorIntervalMs: positiveInt().default(15_000),
  warm: z
    .strictObject({
      enabled: flag().default(true),
      maxKeys: nonNegativeInt().default(500),
      timeoutMs: positiveInt().default(2000),
    })
    .prefault({}),
  /** Absent: memory only. */
  redis: redisSchema.optional(),
});

const condenseModelSchema = z.strictObject({
  maxTokens: positiveInt(),
  keepRecent: nonNegativeInt().optional(),
  summarizerModel: z.string().min(1).optional(),
  onFailure: z.enum(['truncate', 'error']).default('truncate'),
});

const condenseSchema = z.strictObject({
  summarizerModel: z.string().min(1).optional(),
  keepRecent: nonNegativeInt().default(6),
  cacheMaxEntries: positiveInt().default(1000),
  cacheTtlSeconds: positiveInt().default(86_400),
  /** A replica's lease on making a summary; its holder renews it every third of it. */
  summaryClaimMs: positiveInt().default(5_000),
  models: z.record(z.string().min(1), condenseModelSchema).default({}),
});

/** The Responses API's stored responses (`store: true`): previous_response_id, GET, DELETE. */
const responsesSchema = z.strictObject({
  storeTtlSeconds: positiveInt().default(86_400),
  storeMaxEntries: positiveInt().default(10_000),
  storeMaxBytes: positiveInt().default(64 * MiB),
});

const telemetrySchema = z.strictObject({
  logLevel: z.enum(LOG_LEVELS).default('info'),
  captureSpawnStacks: flag().default(false),
  serviceName: z.string().min(1).default('llm-proxy'),
});

const taskOverrideSchema = z.strictObject({
  graceMs: nonNegativeInt().optional(),
  maxConcurrent: positiveInt().optional(),
});

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  auth: authSchema.prefault({}),
  providers: z.array(providerSchema).min(1, 'at least one provider is required'),
  routing: routingSchema.prefault({}),
  cache: cacheSchema.prefault({}),
  condense: condenseSchema.prefault({}),
  responses: responsesSchema.prefault({}),
  telemetry: telemetrySchema.prefault({}),
  tasks: z
    .record(
      z.string().regex(TASK_KEY, 'task keys are "owner/task" in snake_case, e.g. http/request'),
      taskOverrideSchema,
    )
    .default({}),
});

/** Sections parsed on their own by the cross-checks when the whole file does not parse. */
export { condenseSchema };

export type Config = z.output<typeof configSchema>;
export type ServerConfig = Config['server'];
export type AuthConfig = Config['auth'];
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RoutingConfig = Config['routing'];
export type RoutingMode = RoutingConfig['mode'];
export type RetryConfig = RoutingConfig['retries'];
export type BreakerConfig = RoutingConfig['breaker'];
export type HealthCheckConfig = RoutingConfig['healthCheck'];
export type CacheConfig = Config['cache'];
export type CacheWarmConfig = CacheConfig['warm'];
export type RedisConfig = z.output<typeof redisSchema>;
export type CondenseConfig = Config['condense'];
export type CondenseModelConfig = z.output<typeof condenseModelSchema>;
export type TelemetryConfig = Config['telemetry'];
export type LogLevel = TelemetryConfig['logLevel'];
export type TaskOverrideConfig = z.output<typeof taskOverrideSchema>;
