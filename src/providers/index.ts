import type { ProviderConfig } from '../config/index.js';
import { AnthropicProvider } from './anthropic/index.js';
import { DemoProvider } from './demo/index.js';
import { OpenAIProvider } from './openai/index.js';
import type { Provider } from '../upstream/index.js';

export { SseParser, encodeSseData, SSE_DONE } from './sse.js';

/** One adapter per configured provider; adapters share the HTTP client, not code paths. */
export function createProvider(config: ProviderConfig): Provider {
  switch (config.type) {
    case 'openai':
      return new OpenAIProvider(config);
    case 'anthropic':
      return new AnthropicProvider(config);
    case 'demo':
      return new DemoProvider(config);
  }
}
