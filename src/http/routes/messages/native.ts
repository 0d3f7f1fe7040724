/**
 * What the Messages routes share: which providers speak the Messages API natively, the
 * client headers passed on to them, and the Messages format's request errors as the proxy's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MessagesFormatError } from '../../../formats/messages/index.js';
import { requestRefused, type Provider, type UpstreamError } from '../../../upstream/index.js';
import { ProxyError } from '../../errors.js';

/** The provider passes Messages requests (and their token counts) through unchanged. */
export const speaksMessages = (provider: Provider): boolean =>
  provider.nativeApis.has('messages') && provider.native !== undefined;

/**
 * The client's `anthropic-version` and `anthropic-beta`, which choose the API's behaviour
 * (beta features Claude Code turns on among them). Nothing else of the client's headers
 * goes upstream: its `x-api-key` is a proxy key; the provider sends its own.
 */
export function anthropicHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const version = headers['anthropic-version'];
  const beta = headers['anthropic-beta'];
  if (typeof version === 'string' && version !== '') out['anthropic-version'] = version;
  if (typeof beta === 'string' && beta !== '') out['anthropic-beta'] = beta;
  return out;
}

/** Runs a Messages parser; its MessagesFormatError becomes a 400 naming the field. */
export function parsed<R>(parse: (raw: unknown) => R, raw: unknown): R {
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof MessagesFormatError) {
      throw new ProxyError(400, err.message, { code: 'invalid_request_body', param: err.param });
    }
    throw err;
  }
}

/**
 * A request a translation refuses (what chat cannot carry), as the client's fault: every
 * provider that translates would refuse it alike, so the engine answers it without failing
 * over, with this message and field.
 */
export function translationRefused(err: MessagesFormatError): UpstreamError {
  return requestRefused(err.message, err.param);
}
