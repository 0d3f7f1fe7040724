/**
 * Reads a request body straight from the Node request with a byte limit: a declared
 * Content-Length over the limit is refused before anything is read, and a body that grows
 * past it is refused as soon as it does, so an oversized body is never buffered whole. What
 * the client still sends after such an answer is read and dropped, within bounds
 * (`discardRest`), so that clients reading only once their upload is done still see it.
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

/**
 * How much of a body may still be read and dropped once its request was answered early: the
 * larger of 8 times the body limit and 32 MiB (both 32 MiB at the default 4 MiB limit).
 * Clients that only read the answer once their upload is done (fetch/undici, the OpenAI
 * SDK) see a 413 only if the rest is taken in; a body a client believed would fit is a
 * small multiple of the limit (the 4-20 MB bodies that hit the default), and the floor keeps
 * a small limit from cutting such bodies off. Dropping costs bandwidth, not memory; past
 * this the client is cut off (a reset), as it would have been without lingering.
 */
export function discardAllowance(limit: number): number {
  return Math.max(8 * limit, 32 * 1024 * 1024);
}

/**
 * Lingering close, as nginx's lingering_close: after a request was answered before its body
 * arrived whole (a 413, or a 401 that never read it), the rest is read and dropped rather
 * than the connection closed under an upload in progress, which would reset it and lose the
 * answer for a client still writing. Once the body has all been dropped the connection
 * serves its next request. Bounded in bytes by `maxBytes` (then the connection is cut), in
 * time by Node's own timers: `requestTimeout` (server.receiveTimeoutMs, counted from the
 * request's start) ends a request still arriving, and the keep-alive timeout set once the
 * answer is out cuts a connection idle that long (nginx's lingering_timeout). No task is
 * held and no timer armed: it is listeners only, gone when it ends.
 *
 * NOTE: to be called before Node's own end-of-response handling, which would otherwise
 * `_dump()` a body nobody read, after which no 'data' is emitted to count.
 *
 * `closeAfter`: the answer said `Connection: close`, so once the body is all in the
 * connection is closed (gracefully: the client has sent everything, so nothing is reset).
 * `done` runs once, when it ends; the returned function ends it at once, cutting the
 * connection (shutdown does, rather than wait on an upload).
 */
export function discardRest(
  req: IncomingMessage,
  maxBytes: number,
  closeAfter: boolean,
  done: () => void,
): () => void {
  const socket = req.socket;
  let left = maxBytes;
  let lingering = true;
  const end = (): void => {
    if (!lingering) return;
    lingering = false;
    req.off('data', onData);
    req.off('end', onEnd);
    socket.off('close', end);
    done();
  };
  const onEnd = (): void => {
    end();
    if (closeAfter) socket.destroySoon();
  };
  const cut = (): void => {
    if (!lingering) return;
    end();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    left -= chunk.length;
    if (left < 0) cut();
  };
  req.on('data', onData);
  req.once('end', onEnd);
  socket.once('close', end);
  req.resume();
  return cut;
}

/** application/json and application/*+json: what a client that means JSON labels it. */
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** The request frames a body (RFC 9112 6.3): one to read before the request is served. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Parses a JSON object body (read by the request's task: Exchange.body; none reads as empty)
 * whatever its Content-Type says, as OpenAI-compatible gateways do: clients often omit it,
 * and `curl -d` labels JSON application/x-www-form-urlencoded. A label that is not JSON only
 * matters once the body fails to parse: then the 400 names it.
 */
export function parseJsonObject(
  body: Buffer | undefined,
  contentType: string | undefined,
): { value: Record<string, unknown>; text: string } {
  const text = body === undefined ? '' : body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const mislabelled =
      contentType !== undefined && JSON_TYPE.test(contentType) ? undefined : { contentType };
    throw errors.badJson((err as Error).message, mislabelled);
  }
  if (!isRecord(parsed)) {
    throw errors.badBody('The request body must be a JSON object.', null);
  }
  if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) throw errors.tooDeep(MAX_JSON_DEPTH);
  return { value: parsed, text };
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
