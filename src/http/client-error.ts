/**
 * Requests Node's HTTP parser refuses before any route sees them (bad header characters,
 * header overflow, a bad Content-Length or chunk, request smuggling attempts). Node would
 * answer a bare `400 Bad Request` with no body; this answers in OpenAI's error shape like
 * every other refusal, then closes the connection, as the parser's state is unknown.
 *
 * NOTE: the error's `rawPacket` holds the raw request bytes (headers, keys included); it is
 * never logged or echoed.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RequestError } from '@hono/node-server';
import { errors, ProxyError } from './errors.js';

function statusFor(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** The error to answer for a parser error code (HPE_*, from llhttp). */
export function malformedRequest(code: string | undefined): ProxyError {
  const status = statusFor(code);
  const message =
    status === 431
      ? 'The request headers are too large. Send smaller headers (16 KB in all at most).'
      : status === 408
        ? 'The request was not received in time. Send the whole request promptly.'
        : 'The HTTP request is malformed (bad request line, header, Content-Length or chunk ' +
          `encoding${code === undefined ? '' : `: ${code}`}). Send a well-formed HTTP/1.1 request.`;
  return new ProxyError(status, message, { code: 'malformed_http_request' });
}

/** A `clientError` listener for the Node server. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: answer only on a socket nothing was written to yet.
  const written = (socket as Partial<Socket>).bytesWritten ?? 0;
  if (err.code === 'ECONNRESET' || !socket.writable || written > 0) {
    socket.destroy();
    return;
  }
  const e = malformedRequest(err.code);
  const body = JSON.stringify(e.toJSON());
  const head = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Bad Request'}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * A `checkExpectation` listener: an `Expect` other than `100-continue` (which Node answers
 * itself) gets the OpenAI-shaped 417 rather than Node's bare one. The header's value is not
 * echoed. The unread body may follow, so the connection closes.
 */
export function answerExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const e = new ProxyError(
    417,
    "Only 'Expect: 100-continue' is supported. Drop the Expect header or send that value.",
    { code: 'unsupported_expectation' },
  );
  const body = JSON.stringify(e.toJSON());
  res
    .writeHead(e.status, {
      ...e.headers(),
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    })
    .end(body);
}

/**
 * The node-server adapter's errorHandler: a request it could not turn into a fetch Request
 * (invalid Host header, a target that is not a path, a backslash in the path) is a 400.
 * Anything else reaching it is a bug in the app, answered 500 without detail.
 */
export function requestErrorResponse(err: unknown): Response {
  const e =
    err instanceof RequestError
      ? new ProxyError(
          400,
          `The request target or Host header is invalid (${err.message}). ` +
            "Send an origin-form target like '/v1/models' and a valid Host.",
          { code: 'malformed_http_request' },
        )
      : errors.internal();
  return new Response(JSON.stringify(e.toJSON()), { status: e.status, headers: e.headers() });
}
