/**
 * The proxy's side of `store` and `previous_response_id`: a call's conversation so far,
 * looked up before routing (the stored turn its previous_response_id names, expanded into
 * that turn's input and output items; an unknown or expired id is OpenAI's 404), and the turn
 * stored once answered, under the Response's id, with the expanded conversation as its input.
 * The proxy holds the conversation, so a next turn may go to any provider, on any replica.
 */
import type { ResponseStore, StoredResponse } from '../../../cache/response-store.js';
import type { InputItem, ResponsesRequest } from '../../../formats/responses/index.js';
import { isRecord, parseRecord } from '../../../json.js';
import { SseParser } from '../../../providers/index.js';
import type { Frame, StreamAnswer } from '../../../upstream/index.js';
import { ProxyError } from '../../errors.js';
import type { ProxyCall } from '../../inbound/api.js';

/** A Responses call: the request, and its conversation once looked up. */
export interface ResponsesCall {
  readonly body: ResponsesRequest;
  /** The earlier turns' items, oldest first (empty without previous_response_id). */
  prior: readonly InputItem[];
  /** The provider that served the previous turn (which may hold it itself). */
  origin: string | undefined;
}

/** A stream answer that knows the Response its terminal event carried, once it came. */
export interface WatchedStream extends StreamAnswer {
  final(): Record<string, unknown> | undefined;
}

/** This request's input as items (a string is one user message). */
export function inputItems(body: ResponsesRequest): InputItem[] {
  return typeof body.input === 'string'
    ? [{ type: 'message', role: 'user', content: body.input }]
    : body.input;
}

/** Looks up the previous turn: its items become the call's prior; unknown is a 404. */
export async function lookUpPrevious(
  store: ResponseStore,
  call: ProxyCall<ResponsesCall>,
): Promise<void> {
  const id = call.request.body.previous_response_id;
  if (id == null) return;
  const previous = await store.get(id);
  if (previous === undefined) {
    throw new ProxyError(404, `Previous response with id '${id}' not found.`, {
      type: 'invalid_request_error',
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  }
  call.request.prior = [...previous.input, ...previous.response.output] as InputItem[];
  call.request.origin = previous.provider;
}

/**
 * The body for a native provider: the client's, unless the previous turn must be expanded
 * (another provider served it, so this one does not hold it): then `input` is the whole
 * conversation and previous_response_id is dropped.
 */
export function nativeBody(call: ProxyCall<ResponsesCall>, provider: string): string {
  const text = call.bodyText ?? call.text;
  const { prior, origin, body } = call.request;
  if (prior.length === 0 || origin === provider) return text;
  const { previous_response_id: _, ...rest } = call.raw;
  return JSON.stringify({ ...rest, input: [...prior, ...inputItems(body)] });
}

/** Stores the answered turn when the request asked for it (`store`, true by default). */
export function remember(
  store: ResponseStore,
  call: ProxyCall<ResponsesCall>,
  provider: string,
  response: Record<string, unknown> | undefined,
): void {
  const { body, prior } = call.request;
  if (body.store === false || response === undefined) return;
  const { id, output } = response;
  if (typeof id !== 'string' || !Array.isArray(output)) return;
  const turn: StoredResponse = {
    response: response as StoredResponse['response'],
    input: [...prior, ...inputItems(body)],
    provider,
  };
  store.set(id, turn);
}

/** The Response in a JSON answer's body, if it is one. */
export function responseOf(body: string): Record<string, unknown> | undefined {
  const value = parseRecord(body);
  return value?.object === 'response' ? value : undefined;
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Watches the frames the client gets for the terminal event, keeping the Response it
 * carries. Only terminal events are parsed as JSON; the frames themselves pass unchanged.
 */
export function watched(answer: StreamAnswer): WatchedStream {
  const parser = new SseParser();
  let final: Record<string, unknown> | undefined;
  const see = (frame: Frame): void => {
    for (const event of parser.push(frame)) {
      if (event.event === undefined || !TERMINAL.has(event.event)) continue;
      const response = parseRecord(event.data)?.response;
      if (isRecord(response)) final = response;
    }
  };
  see(answer.first);
  return {
    kind: 'stream',
    first: answer.first,
    stats: answer.stats,
    close: () => answer.close(),
    rest: {
      next: async () => {
        const step = await answer.rest.next();
        if (step.done !== true) see(step.value);
        return step;
      },
    },
    final: () => final,
  };
}
