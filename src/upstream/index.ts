// The contract between the fallback engine and the provider adapters, below both: what a
// provider is and answers, and what its failures are. Imports no project layer above tasks/.
// The OpenAI wire types the contract speaks are in ./openai-types.ts, imported by path.
export type {
  Provider,
  ChatAnswer,
  JsonAnswer,
  StreamAnswer,
  StreamStats,
  Frame,
  CallOptions,
  NativeRequest,
} from './provider.js';
export { CapturedPayloads, capturing } from './captured.js';
export type { CaptureOptions } from './captured.js';
export { UpstreamError, requestRefused, statusError, toUpstreamError } from './errors.js';
export type { ClientErrorBody, RequestFault, UpstreamErrorDetails } from './errors.js';
export { FAILURE_KINDS, classifyStatus } from './failure-kind.js';
export type { FailureKind } from './failure-kind.js';
export { parseRetryAfter } from './retry-after.js';
export { decodeEscapes } from './escapes.js';
export { redactCredentials } from './redact.js';
