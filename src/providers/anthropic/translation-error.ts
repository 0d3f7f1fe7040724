/** A request Anthropic cannot serve as asked; the HTTP layer answers 400 with `param`. */
export class TranslationError extends Error {
  readonly code = 'LLMP_TRANSLATION';
  override readonly name = 'TranslationError';
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}
