/**
 * Reads a request body straight from the Node request with a byte limit: a declared
 * Content-Length over the limit is refused before anything is read, and a body that grows
 * past it is refused as soon as it does, so an oversized body is never buffered whole.
 */
import type { IncomingMessage } from 'node:http';
import { errors } from './errors.js';
import { isRecord } from '../json.js';

/** What a read learns its request's cancellation from: the request task's context. */
export interface Cancellable {
  onCancel(fn: () => void): () => void;
}

/**
 * `task`: the read gives up when the request is cancelled (its deadline, shutdown), so a
 * client sending its body slowly, or not at all, holds its task no longer than that.
 */
export function readBody(req: IncomingMessage, limit: number, task?: Cancellable): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(errors.tooLarge(limit));
  // Plain listeners, not `for await`: the stream async iterator cost several microseconds
  // per request on the hot path.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    // Listeners fire only after this executor returns (a stream emits asynchronously), by
    // when `unhook` is set; the cancel hook itself may run at once, so it only detaches.
    const cleanup = (): void => {
      detach();
      unhook?.();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      if (req.readableEnded) return;
      cleanup();
      reject(new Error('the client closed the connection before sending the whole body'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    const unhook = task?.onCancel(() => {
      detach();
      req.pause();
      reject(new Error('the request was cancelled while its body was being read'));
    });
  });
}

/** application/json and application/*+json: what a client that means JSON labels it. */
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/**
 * Parses a JSON object body whatever its Content-Type says, as OpenAI-compatible gateways do:
 * clients often omit it, and `curl -d` labels JSON application/x-www-form-urlencoded. A label
 * that is not JSON only matters once the body fails to parse: then the 400 names it.
 */
export async function readJsonObject(
  req: IncomingMessage,
  limit: number,
  task?: Cancellable,
): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit, task);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    const contentType = req.headers['content-type'];
    const mislabelled =
      contentType !== undefined && JSON_TYPE.test(contentType) ? undefined : { contentType };
    throw errors.badJson((err as Error).message, mislabelled);
  }
  if (!isRecord(parsed)) {
    throw errors.badBody('The request body must be a JSON object.', null);
  }
  if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) throw errors.tooDeep(MAX_JSON_DEPTH);
  return parsed;
}

/**
 * Far deeper than any real request (tool schemas run to a few dozen levels). NOTE: JSON.parse
 * copes with any depth, but JSON.stringify, cache keys and validators recurse, and overflow
 * the stack at a few thousand levels, so a body nested that deep must never get past here.
 */
export const MAX_JSON_DEPTH = 128;

/** Walks the parsed body without recursion (the point is to survive hostile depth). */
export function nestedDeeperThan(root: object, max: number): boolean {
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') {
        nodes.push(child as object);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
