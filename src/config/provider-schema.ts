/**
 * The `providers:` entries: a union discriminated on `type`. Fields shared by every type
 * come first; each type adds only what its adapter needs.
 */
import { z } from 'zod';
import { flag, fraction, httpUrl, nonNegativeInt, optionalSecret, positiveInt } from './fields.js';

export const PROVIDER_TYPES = ['openai', 'anthropic', 'demo'] as const;

/** The inbound APIs (client wire formats) the proxy serves; see nativeApis below. */
export const INBOUND_APIS = ['chat', 'embeddings', 'responses', 'messages', 'completions'] as const;
export type InboundApiName = (typeof INBOUND_APIS)[number];

/**
 * `nativeApis`: the inbound APIs this provider's upstream serves in the client's own wire
 * format. A request in one of them is passed through unchanged; any other is translated to the
 * provider's own API, or the provider is no candidate for it.
 */
const nativeApis = (
  defaults: InboundApiName[],
  allowed: readonly InboundApiName[] = INBOUND_APIS,
) =>
  z
    .array(z.enum(allowed as [InboundApiName, ...InboundApiName[]]))
    .refine((apis) => new Set(apis).size === apis.length, 'lists an API twice')
    .default(defaults);

// Provider names become metric label values and log fields, so they are a tame alphabet.
const PROVIDER_NAME = /^[a-z0-9_-]+$/;
// RFC 9110 token: anything else would be rejected by undici when the request is built.
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const probeSchema = z
  .strictObject({
    kind: z.enum(['models', 'completion']).default('models'),
    model: z.string().min(1).optional(),
  })
  .superRefine((probe, ctx) => {
    if (probe.kind === 'completion' && probe.model === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: 'required when kind is completion',
      });
    }
  });

const common = {
  name: z.string().regex(PROVIDER_NAME, 'must match ^[a-z0-9_-]+$ (it is a metric label)'),
  models: z.array(z.string().min(1)).min(1, 'must list at least one model id'),
  /** Lower is tried first. */
  priority: nonNegativeInt().default(10),
  timeoutMs: positiveInt().default(30_000),
  enabled: flag().default(true),
  maxConnections: positiveInt().default(64),
  /** Extra headers sent upstream on every request. */
  headers: z
    .record(z.string().regex(HEADER_NAME, 'not a valid HTTP header name'), z.string())
    .optional(),
  probe: probeSchema.optional(),
};

const openaiProviderSchema = z.strictObject({
  ...common,
  type: z.literal('openai'),
  baseUrl: httpUrl(),
  apiKey: optionalSecret(),
  nativeApis: nativeApis(['chat', 'embeddings', 'completions']),
});

const anthropicProviderSchema = z.strictObject({
  ...common,
  type: z.literal('anthropic'),
  baseUrl: httpUrl().default('https://api.anthropic.com/v1'),
  apiKey: optionalSecret(),
  anthropicVersion: z.string().min(1).default('2023-06-01'),
  maxTokensDefault: positiveInt().default(4096),
  // Chat is always translated to Messages: Anthropic's own API, whatever the client speaks.
  nativeApis: nativeApis(['messages'], ['messages']),
});

const demoProviderSchema = z.strictObject({
  ...common,
  type: z.literal('demo'),
  latencyMs: nonNegativeInt().default(20),
  /** Share of requests that fail with an upstream error, for fallback drills. */
  failRate: fraction().default(0),
  /** Behave like an adapter that ignores cancellation, so leak detection can be seen. */
  ignoreAbort: flag().default(false),
  streamChunks: positiveInt().default(8),
  embeddingDimensions: positiveInt().default(16),
});

export const providerSchema = z.discriminatedUnion('type', [
  openaiProviderSchema,
  anthropicProviderSchema,
  demoProviderSchema,
]);

export type ProviderConfig = z.output<typeof providerSchema>;
export type ProviderType = ProviderConfig['type'];
export type OpenAIProviderConfig = z.output<typeof openaiProviderSchema>;
export type AnthropicProviderConfig = z.output<typeof anthropicProviderSchema>;
export type DemoProviderConfig = z.output<typeof demoProviderSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
