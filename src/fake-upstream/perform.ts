/**
 * Carries out a request's plan on its exchange: the scripted failure, or the answer bent by
 * the standing behaviour. Stream-only behaviours on a JSON request fall back to their JSON
 * analogue (a cut body, a non-JSON body), so every knob means something on every route.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Answer, WireApi } from './api.js';
import { BROKEN_STREAMS, type Behaviour, type Plan } from './behaviour.js';
import { brokenStream, corrupt, INVALID_UTF8, isBrokenStream } from './broken-streams.js';
import { framesThroughContent, HANG_MS, type Exchange, type StreamTiming } from './exchange.js';

const NOT_JSON = '{"this is": not json';
/** Behaviours that shape an SSE answer; the rest (reset, invalid_json) act before any SSE. */
const STREAMED: ReadonlySet<Behaviour> = new Set<Behaviour>([
  'ok',
  'slow_stream',
  'invalid_sse',
  'reset_mid_stream',
  'truncated_stream',
  ...BROKEN_STREAMS,
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
    if (isBrokenStream(behaviour)) {
      const script = brokenStream(behaviour, frames);
      return ex.stream(script.frames, timing, script.ending);
    }
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
  if (behaviour === 'null_choice') {
    // A stream request gets the JSON answer too, as with invalid_json.
    const body = answer.kind === 'json' ? answer.body : {};
    const blocks = api.name === 'anthropic' ? { content: [null] } : { choices: [null] };
    return ex.json(200, { ...(body as object), ...blocks });
  }
  if (answer.kind === 'stream') return ex.raw(200, NOT_JSON, 'application/json');
  return jsonAnalogue(ex, behaviour, answer.body);
}

/** A JSON answer bent the way `behaviour` bends a stream. */
function jsonAnalogue(ex: Exchange, behaviour: Behaviour, body: unknown): Promise<void> | void {
  switch (behaviour) {
    case 'reset_mid_stream':
    case 'break_mid_event':
      return ex.partialJson(body, 'reset');
    case 'stall_mid_event':
      return ex.partialJson(body, 'hang');
    case 'truncated_stream':
      return ex.partialJson(body, 'end');
    case 'invalid_utf8':
      return ex.raw(200, corrupt(JSON.stringify(body), INVALID_UTF8), 'application/json');
    case 'nul_event':
      return ex.raw(200, corrupt(JSON.stringify(body), Uint8Array.of(0)), 'application/json');
    case 'invalid_json':
    case 'invalid_sse':
    case 'non_json_event':
    case 'oversized_event':
      return ex.raw(200, NOT_JSON, 'application/json');
    default:
      return ex.json(200, body);
  }
}
