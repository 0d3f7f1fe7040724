/**
 * The stored responses' own routes (OpenAI's shapes): GET /v1/responses/{id} (the Response
 * as the client got it), DELETE /v1/responses/{id} (`{id, object: 'response', deleted:
 * true}`), and GET /v1/responses/{id}/input_items (the turn's whole conversation input, as a
 * list page: `order` asc|desc (desc by default), `limit` 1-100 (20), `after` an item id).
 * An unknown or expired id is a 404 in OpenAI's shape.
 */
import type { ResponseStore, StoredResponse } from '../../../cache/response-store.js';
import { isRecord } from '../../../json.js';
import { ProxyError } from '../../errors.js';
import type { Exchange } from '../../exchange.js';

async function found(store: ResponseStore, id: string): Promise<StoredResponse> {
  const stored = await store.get(id);
  if (stored !== undefined) return stored;
  throw new ProxyError(404, `Response with id '${id}' not found.`, {
    type: 'invalid_request_error',
  });
}

export async function getResponse(store: ResponseStore, ex: Exchange, id: string): Promise<void> {
  const { response } = await found(store, id);
  ex.json(200, JSON.stringify(response));
}

export async function deleteResponse(
  store: ResponseStore,
  ex: Exchange,
  id: string,
): Promise<void> {
  await found(store, id);
  store.delete(id);
  ex.json(200, JSON.stringify({ id, object: 'response', deleted: true }));
}

/** The list page's query, validated as OpenAI does (400 naming the param). */
interface Page {
  order: 'asc' | 'desc';
  limit: number;
  after: string | undefined;
}

function pageOf(query: URLSearchParams): Page {
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new ProxyError(
      400,
      `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`,
      {
        param: 'order',
        code: 'invalid_value',
      },
    );
  }
  const rawLimit = query.get('limit') ?? '20';
  const limit = Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new ProxyError(400, `Invalid 'limit': ${rawLimit}. It must be between 1 and 100.`, {
      param: 'limit',
      code: 'invalid_value',
    });
  }
  return { order, limit, after: query.get('after') ?? undefined };
}

/** An input item as listed: every one has an id (the client's, or its place in the list). */
function listed(item: unknown, index: number): Record<string, unknown> {
  const record = isRecord(item) ? item : {};
  const withType = record.type === undefined ? { type: 'message', ...record } : record;
  return typeof record.id === 'string' ? withType : { id: `item_${index}`, ...withType };
}

export async function listInputItems(
  store: ResponseStore,
  ex: Exchange,
  id: string,
  query: URLSearchParams,
): Promise<void> {
  const page = pageOf(query);
  const { input } = await found(store, id);
  const items = input.map(listed);
  if (page.order === 'desc') items.reverse();
  const start = page.after === undefined ? 0 : items.findIndex((i) => i.id === page.after) + 1;
  const data = items.slice(start, start + page.limit);
  ex.json(
    200,
    JSON.stringify({
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + data.length < items.length,
    }),
  );
}
