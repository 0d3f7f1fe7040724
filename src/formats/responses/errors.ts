/**
 * The two ways a Responses request can be refused before it reaches an upstream, each naming
 * the offending parameter the way OpenAI's error body does (`input[2].content[0].type`), so
 * the HTTP layer answers a 400 in OpenAI's shape without knowing this format.
 */

/** The body is not a valid Responses request: a 400 saying what to fix. */
export class ResponsesRequestError extends Error {
  readonly code = 'LLMP_RESPONSES_REQUEST';
  override readonly name = 'ResponsesRequestError';
  constructor(
    message: string,
    /** OpenAI's `param`: the path of the offending field, null for the body as a whole. */
    readonly param: string | null,
    /** OpenAI's `code` for the problem (`missing_required_parameter`, `invalid_value`, ...). */
    readonly openaiCode: string,
  ) {
    super(message);
  }
}

/**
 * A valid request that chat completions cannot carry: a built-in tool (web search, file
 * search, code interpreter, computer use), or an item, part or tool choice with no chat
 * equivalent. Only a provider that natively serves the Responses API can serve it, so the
 * caller either picks such a provider or answers a 400 with this message and `param`.
 */
export class ResponsesTranslationError extends Error {
  readonly code = 'LLMP_RESPONSES_TRANSLATION';
  override readonly name = 'ResponsesTranslationError';
  constructor(
    message: string,
    readonly param: string,
    /** True for OpenAI's hosted tools: the message says where they are served. */
    readonly builtinTool = false,
  ) {
    super(message);
  }
}
