/**
 * Writing answers straight to the Node response (no web-stream bridge on the hot path):
 * JSON bodies, OpenAI-shaped errors, text (the Prometheus scrape), and SSE frames with
 * backpressure. Every route answers through these, by way of its Exchange (exchange.ts).
 */
import type { ServerResponse } from 'node:http';
import type { Frame } from '../upstream/index.js';
import { anthropicErrorBody, errorEventFrame } from '../formats/messages/index.js';
import type { ProxyError } from './errors.js';
import { merged } from '../objects.js';

export type ExtraHeaders = Record<string, string>;

/**
 * The shape of a route's errors, chosen when it is mounted: OpenAI's
 * `{"error":{"message","type","param","code"}}`, or Anthropic's
 * `{"type":"error","error":{"type","message"}}` on the Messages API's routes.
 */
export type ErrorShape = 'openai' | 'anthropic';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers?: ExtraHeaders,
): void {
  sendText(res, status, body, 'application/json', headers);
}

export function sendError(
  res: ServerResponse,
  err: ProxyError,
  headers?: ExtraHeaders,
  shape: ErrorShape = 'openai',
): void {
  // NOTE: no `connection: close` on a 413: Node would close at once, resetting a client
  // still uploading before it reads the answer. The server lingers instead (discardRest).
  const body = shape === 'openai' ? err.toJSON() : anthropicErrorBody(err.status, err.message);
  sendJson(res, err.status, JSON.stringify(body), merged(headers, err.headers()));
}

/** A whole body of `contentType`, with its length, unless an answer was already started. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  headers?: ExtraHeaders,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(
    status,
    merged(headers, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
    }),
  );
  res.end(body);
}

export function startSse(res: ServerResponse, headers: ExtraHeaders): void {
  res.writeHead(
    200,
    merged(headers, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    }),
  );
  // Headers go out with the first frame; nothing is batched after that.
}

/**
 * Writes a frame: true when the client took it, false once the client is gone, and a promise
 * of either when the client is slow (it waits for 'drain'). NOTE: not an async function, so a
 * stream's frames cost no promise each while the client keeps up:
 * `const w = writeFrame(res, f); if (w !== true && !(await w)) return;`.
 */
export function writeFrame(res: ServerResponse, frame: Frame): boolean | Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(frame)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * An error after the stream started, then the end: OpenAI's error chunk, or Anthropic's
 * `error` event.
 */
export function endSseWithError(
  res: ServerResponse,
  err: ProxyError,
  shape: ErrorShape = 'openai',
): void {
  if (res.destroyed || res.writableEnded) return;
  res.end(
    shape === 'openai'
      ? `data: ${JSON.stringify(err.toJSON())}\n\n`
      : errorEventFrame(err.status, err.message),
  );
}
