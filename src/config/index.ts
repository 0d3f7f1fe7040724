export { loadConfig, parseYaml } from './load.js';
export type { LoadConfigOptions } from './load.js';
export { parseConfig, validateConfig } from './parse.js';
export type { Validation } from './parse.js';
export { demoConfig } from './defaults.js';
export { interpolate, interpolateString } from './interpolate.js';
export type { Env, Interpolated } from './interpolate.js';
export { ConfigError, formatPath } from './errors.js';
export type { ConfigProblem } from './errors.js';
export { configSchema, LOG_LEVELS, ROUTING_MODES } from './schema.js';
export type {
  Config,
  ServerConfig,
  AuthConfig,
  RateLimitConfig,
  RoutingConfig,
  RoutingMode,
  RetryConfig,
  BreakerConfig,
  HealthCheckConfig,
  CacheConfig,
  CacheWarmConfig,
  RedisConfig,
  CondenseConfig,
  CondenseModelConfig,
  TelemetryConfig,
  LogLevel,
  TaskOverrideConfig,
} from './schema.js';
export { INBOUND_APIS, PROVIDER_TYPES } from './provider-schema.js';
export type { InboundApiName } from './provider-schema.js';
export type {
  ProviderConfig,
  ProviderType,
  OpenAIProviderConfig,
  AnthropicProviderConfig,
  DemoProviderConfig,
  ProbeConfig,
} from './provider-schema.js';
