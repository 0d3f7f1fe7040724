/**
 * Carries out a request's plan on its exchange: the scripted failure, or the answer bent by
 * the standing behaviour. Stream-only behaviours on a JSON request fall back to their JSON
 * analogue (a cut body, a non-JSON body), so every knob means something on every route.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Answer, WireApi } from './api.js';
import type { Behaviour, Plan } from './behaviour.js';
import { framesThroughContent, type Exchange, type StreamTiming } from './exchange.js';

/** Long enough to outlast any test; the exchange's signal ends it when the client goes. */
const HANG_MS = 2_147_483_647;
const NOT_JSON = '{"this is": not json';
/** Behaviours that shape an SSE answer; the rest (reset, invalid_json) act before any SSE. */
const STREAMED: ReadonlySet<Behaviour> = new Set<Behaviour>([
  'ok',
  'slow_stream',
  'invalid_sse',
  'reset_mid_stream',
  'truncated_stream',
]);

export type ReadyAnswer = Exclude<Answer, { kind: 'reject' }>;

function failureMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests (fake upstream).';
  return `The fake upstream answered ${status} on purpose.`;
}

export async function perform(
  ex: Exchange,
  api: WireApi,
  plan: Plan,
  answer: ReadyAnswer,
  timing: StreamTiming,
): Promise<void> {
  if (plan.kind === 'error') {
    if (!(await ex.wait(timing.latencyMs))) return;
    const headers: OutgoingHttpHeaders = {};
    if (plan.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(plan.retryAfterSeconds);
    }
    ex.json(plan.status, api.errorBody(plan.status, failureMessage(plan.status)), headers);
    return;
  }
  const { behaviour } = plan;
  if (behaviour === 'hang') {
    await ex.wait(HANG_MS);
    return;
  }
  if (answer.kind === 'stream' && STREAMED.has(behaviour)) {
    // SSE: the headers go out at once and latency is the time to the first event.
    const { frames } = answer;
    if (behaviour === 'invalid_sse') return ex.stream(api.invalidStream(), timing, 'end');
    if (behaviour === 'reset_mid_stream') {
      return ex.stream(framesThroughContent(frames, 2), timing, 'reset');
    }
    if (behaviour === 'truncated_stream') {
      return ex.stream(framesThroughContent(frames, Infinity), timing, 'end');
    }
    return ex.stream(frames, timing, 'end');
  }

  if (!(await ex.wait(timing.latencyMs))) return;
  if (behaviour === 'reset') return ex.reset();
  if (behaviour === 'invalid_json' || answer.kind === 'stream' || behaviour === 'invalid_sse') {
    return ex.raw(200, NOT_JSON, 'application/json');
  }
  if (behaviour === 'reset_mid_stream') return ex.partialJson(answer.body, 'reset');
  if (behaviour === 'truncated_stream') return ex.partialJson(answer.body, 'end');
  return ex.json(200, answer.body);
}
