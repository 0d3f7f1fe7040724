/**
 * What the Responses route's parts share: which providers serve the Responses API natively,
 * which a request can go to (built-in tools only to those), and the Responses format's
 * errors as the proxy's (a bad body is a 400; what chat cannot carry, a refusal that does
 * not fail over).
 */
import type { ResponsesTranslationError } from '../../../formats/responses/index.js';
import {
  ResponsesRequestError,
  builtinToolParams,
  parseResponsesRequest,
  type ResponsesRequest,
} from '../../../formats/responses/index.js';
import { requestRefused, type Provider, type UpstreamError } from '../../../upstream/index.js';
import { ProxyError } from '../../errors.js';
import type { Eligibility } from '../../inbound/api.js';

export const ROUTE = '/v1/responses';

/** The provider passes Responses requests through unchanged. */
export const speaksResponses = (provider: Provider): boolean =>
  provider.nativeApis.has('responses') && provider.native !== undefined;

/**
 * Every provider takes a request without built-in tools (natively or translated to chat);
 * one with them only a native one, the 400 naming the first such tool's `tools[i].type`.
 */
export function eligibleFor(request: ResponsesRequest): Eligibility | undefined {
  const [param] = builtinToolParams(request);
  if (param === undefined) return undefined;
  return {
    route: ROUTE,
    test: speaksResponses,
    refusal:
      `${param} is a built-in tool, served only by providers that list 'responses' in ` +
      'their nativeApis',
    param,
  };
}

/** Validates the body; a ResponsesRequestError becomes a 400 naming OpenAI's param. */
export function parsed(raw: Record<string, unknown>): ResponsesRequest {
  try {
    return parseResponsesRequest(raw);
  } catch (err) {
    if (err instanceof ResponsesRequestError) {
      throw new ProxyError(400, err.message, { code: err.openaiCode, param: err.param });
    }
    throw err;
  }
}

/**
 * A request the translation to chat refuses, as the client's fault: every provider that
 * translates would refuse it alike, so the engine answers it without failing over.
 */
export function translationRefused(err: ResponsesTranslationError): UpstreamError {
  return requestRefused(err.message, err.param);
}
