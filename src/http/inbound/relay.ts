/**
 * Relaying a winning stream to the client as it arrives, frame by frame with backpressure,
 * and ending it with an error event when the provider breaks it off or ends it early. Runs
 * inside the winning attempt's task, which holds the upstream until it returns.
 */
import { UpstreamError, type Frame, type StreamAnswer } from '../../upstream/index.js';
import { ProxyError } from '../errors.js';
import type { ProxyCall } from './api.js';

/**
 * Relays `answer` from `provider` as SSE: true once it reached the stream's end (whole, or
 * cut short by the provider, which the client is told), false when it stopped first.
 */
export async function relaySse(
  call: ProxyCall<unknown>,
  provider: string,
  answer: StreamAnswer,
): Promise<boolean> {
  const { ex, ctx } = call;
  ex.startStream(call.headers);
  const first = ex.frame(answer.first);
  if (first !== true && !(await first)) return false;
  for (;;) {
    const waited = performance.now();
    let next: IteratorResult<Frame>;
    try {
      next = await answer.rest.next();
    } catch (err) {
      ex.upstreamMs += performance.now() - waited;
      // Cut off by the request's deadline or by shutdown, not by the provider: the request
      // task's end says which (see unanswered() in proxy-request.ts).
      if (ctx.cancelled) return false;
      // An UpstreamError's message is a status line of ours ("stream error
      // (overloaded_error)", "invalid SSE event"), never the provider's text: safe to show.
      const why = err instanceof UpstreamError ? `: ${err.message}` : '';
      ex.failStream(
        new ProxyError(502, `The stream from provider ${provider} broke off${why}.`, {
          code: 'upstream_stream_error',
        }),
      );
      return false;
    }
    ex.upstreamMs += performance.now() - waited;
    if (next.done === true) break;
    const written = ex.frame(next.value);
    if (written !== true && !(await written)) return false;
  }
  if (answer.stats.done) {
    ex.endStream();
  } else {
    ex.failStream(
      new ProxyError(502, `The stream from provider ${provider} ended early.`, {
        code: 'upstream_stream_truncated',
      }),
    );
  }
  return true;
}
