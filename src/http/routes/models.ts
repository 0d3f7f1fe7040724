/** GET /v1/models and /v1/models/{id}: the models enabled providers serve, in OpenAI's format. */
import type { Provider } from '../../upstream/index.js';
import { modelsServed } from '../../routing/policy/index.js';
import { errors } from '../errors.js';
import type { Exchange } from '../exchange.js';

/**
 * `created` of every model: when this process started. OpenAI's is when the model was made,
 * which the proxy does not know; a fixed value at least keeps answers stable between calls.
 */
const CREATED = Math.floor(Date.now() / 1000);

function served(providers: readonly Provider[]): string[] {
  return modelsServed(
    providers.map((p) => ({ models: p.config.models, enabled: p.config.enabled })),
  );
}

const model = (id: string) => ({ id, object: 'model', created: CREATED, owned_by: 'llm-proxy' });

export function modelsResponse(ex: Exchange, providers: readonly Provider[]): void {
  ex.json(200, JSON.stringify({ object: 'list', data: served(providers).map(model) }));
}

/** One model (the SDK's models.retrieve); 404 model_not_found if no enabled provider serves it. */
export function modelResponse(ex: Exchange, providers: readonly Provider[], id: string): void {
  if (served(providers).includes(id)) ex.json(200, JSON.stringify(model(id)));
  else ex.error(errors.unknownModel(id));
}
