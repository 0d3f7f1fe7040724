/** GET /v1/models: every model an enabled provider serves, in OpenAI's list format. */
import type { ServerResponse } from 'node:http';
import type { Provider } from '../../providers/index.js';
import { modelsServed } from '../../routing/policy/index.js';
import { sendJson } from '../respond.js';

export function modelsResponse(res: ServerResponse, providers: readonly Provider[]): void {
  const created = Math.floor(Date.now() / 1000);
  const ids = modelsServed(
    providers.map((p) => ({ models: p.config.models, enabled: p.config.enabled })),
  );
  const data = ids.map((id) => ({ id, object: 'model', created, owned_by: 'llm-proxy' }));
  sendJson(res, 200, JSON.stringify({ object: 'list', data }));
}
