/**
 * A request in an API the upstream serves natively, passed through: the body as given, the
 * answer's bytes as they come (a JSON body, or SSE events relayed whole), checked and read
 * for usage in that API's own format (native-formats.ts).
 */
import { parseRecord } from '../json.js';
import {
  UpstreamError,
  type CallOptions,
  type CaptureOptions,
  type ChatAnswer,
  type NativeRequest,
} from '../upstream/index.js';
import type { UpstreamClient } from './http-client.js';
import { NATIVE_FORMATS } from './native-formats.js';
import { openAiStream } from './openai-stream.js';

export async function passThrough(
  client: UpstreamClient,
  req: NativeRequest,
  opts: CallOptions & { capture?: CaptureOptions | undefined },
): Promise<ChatAnswer> {
  const format = NATIVE_FORMATS[req.api];
  const call = {
    method: 'POST',
    path: format.path,
    body: req.bodyText,
    signal: opts.signal,
    otelContext: opts.otelContext,
    headers: req.headers,
  } as const;
  if (req.stream) {
    return openAiStream(await client.stream(call), opts.signal, opts.capture, format.see);
  }
  const text = await client.text(call);
  const value = parseRecord(text);
  if (value === undefined)
    throw new UpstreamError('invalid_response', 'invalid JSON from provider');
  return { kind: 'json', body: text, usage: format.answer(value) };
}
