/**
 * What a failed probe says, for the operator (pure): one short reason line from how the probe
 * task ended, and what a refusal most likely means. A misconfigured provider (a wrong key, a
 * baseUrl without its API root) fails every probe with the same 401 or 404: the log line
 * names the likely cause and quotes the upstream, so it is not left to guess from a 502.
 * The upstream's words were scrubbed of the configured keys by the adapter; they are redacted
 * here again by credential shape and cut short, as they go to the log.
 */
import type { TaskResult } from '../tasks/index.js';
import { redactCredentials, UpstreamError } from '../upstream/index.js';
import type { ProbeFailure } from './health-state.js';

/** The most of an upstream's message kept in a reason line. */
const MAX_MESSAGE_CHARS = 300;

/** Why the probe task that ended with `result` failed (`timeoutMs`: its deadline). */
export function probeFailure(result: TaskResult<unknown>, timeoutMs: number): ProbeFailure {
  switch (result.outcome) {
    case 'completed':
      return { reason: 'answered' };
    case 'timed_out':
      return { reason: `no answer within ${timeoutMs} ms (healthCheck.timeoutMs)` };
    case 'cancelled':
      return { reason: `cancelled (${result.reason})` };
    case 'failed':
      return failureOf(result.error);
  }
}

function failureOf(error: unknown): ProbeFailure {
  if (!(error instanceof UpstreamError)) {
    const text = error instanceof Error ? error.message : String(error);
    return { reason: redactCredentials(text, MAX_MESSAGE_CHARS) || 'failed' };
  }
  const said = error.clientError?.message;
  const upstream = said === undefined ? '' : redactCredentials(said, MAX_MESSAGE_CHARS);
  return {
    status: error.status,
    code: error.clientError?.code ?? undefined,
    reason: upstream === '' ? error.message : `${error.message}: ${upstream}`,
  };
}

/**
 * What a probe refused with `status` (and the upstream's `code`) most likely means, when
 * that is a configuration mistake; undefined for anything else.
 */
export function likelyCause({ status, code }: ProbeFailure): string | undefined {
  if (status === 401 || status === 403) return 'the provider rejected the key: check apiKey';
  if (status !== 404) return undefined;
  if (code === 'model_not_found')
    return "the provider does not serve the probe's model: check probe.model";
  if (code === 'DeploymentNotFound') return 'no such deployment: check deployments and apiVersion';
  return 'baseUrl is probably missing its API root, e.g. /v1';
}
