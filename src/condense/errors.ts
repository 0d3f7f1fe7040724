/**
 * The condenser's one client-facing error. It carries OpenAI's own type/param/code for a
 * conversation that is too long, so the HTTP layer can answer 400 in the shape clients
 * already handle.
 */

export type ContextLengthCause = 'summarization_failed' | 'too_long';

export class ContextLengthError extends Error {
  readonly code = 'context_length_exceeded';
  readonly type = 'invalid_request_error';
  readonly param = 'messages';
  readonly status = 400;
  override readonly name = 'ContextLengthError';

  constructor(
    readonly tokens: number,
    readonly maxTokens: number,
    readonly why: ContextLengthCause,
    options?: ErrorOptions,
  ) {
    super(
      why === 'summarization_failed'
        ? `This conversation has ${tokens} tokens, more than this model's budget of ${maxTokens} tokens, ` +
            'and summarising its earlier messages failed. Shorten the conversation or retry.'
        : `This conversation has ${tokens} tokens, more than this model's budget of ${maxTokens} tokens, ` +
            'even keeping only the system prompt and the latest user message. Shorten them.',
      options,
    );
  }
}
