export { Condenser } from './condenser.js';
export type {
  CondenseModelConfig,
  CondenserOptions,
  CondenseResult,
  Summarize,
} from './condenser.js';
export { CondenserCache, RedisWriteFailed } from './condenser-cache.js';
export type { ClearResult, CondenserCacheOptions } from './condenser-cache.js';
export { condensedModels, createCondensation, summarizeBy, summaryText } from './summarizer.js';
export type { AskSummarizer, Condensation, CondensationOptions } from './summarizer.js';
export { ContextLengthError } from './errors.js';
export type { ContextLengthCause } from './errors.js';
export { CondenserMetrics, CONDENSE_RESULTS } from './metrics.js';
export type { CondenseOutcome } from './metrics.js';
export { planCondensation, truncateToBudget } from './policy.js';
export type { CondensationPlan, CondensePolicy, TruncationResult } from './policy.js';
export { summaryCacheKey } from './cache-key.js';
export {
  SUMMARIZER_SYSTEM_PROMPT,
  SUMMARY_PREFIX,
  renderTranscript,
  summarizerMessages,
  summaryMessage,
} from './prompt.js';
export {
  countMessageTokens,
  createTokenCounter,
  loadTokenizer,
  messageTokens,
  tokenUpperBound,
  IMAGE_TOKENS,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_NAME,
  TOKENS_PER_TOOL_CALL,
} from './tokens.js';
export type { TokenCounter } from './tokens.js';
export type { ChatContentPart, ChatMessage, ChatToolCall, TokenCount } from './types.js';
