/**
 * OpenAI's `response_format` (`json_object`, `json_schema`) on Anthropic. The Messages API
 * has no such field on every model and version, so, as LiteLLM does, the answer is asked for
 * as the input of one forced tool whose input_schema is the wanted schema, and that tool
 * call is read back as the message's content: the client gets JSON text, as from OpenAI
 * (and the SDK's `chat.completions.parse()` works). Ignoring the field, as Anthropic's own
 * OpenAI layer does, would hand such clients prose their parse then fails on.
 */
import { isRecord } from '../../json.js';
import type { ChatCompletionRequest } from '../../upstream/openai-types.js';
import { TranslationError } from './translation-error.js';
import type { AnthropicTool } from './types.js';

/** The forced tool's name: not a name a client's own tool can take alongside it. */
export const JSON_TOOL = 'json_response';

/** The tool that carries a JSON answer; undefined for no response_format or `text`. */
export function jsonFormatTool(req: ChatCompletionRequest): AnthropicTool | undefined {
  const format: unknown = req.response_format;
  if (format == null) return undefined;
  const type = isRecord(format) ? format['type'] : undefined;
  if (type === 'text') return undefined;
  if (type === 'json_object') {
    return {
      name: JSON_TOOL,
      description: 'Give your whole answer as a JSON object: the input of this tool.',
      input_schema: { type: 'object' },
    };
  }
  const spec = isRecord(format) ? format['json_schema'] : undefined;
  if (type !== 'json_schema' || !isRecord(spec)) {
    throw new TranslationError(
      "response_format must be 'text', 'json_object' or 'json_schema' with a json_schema",
      'response_format',
    );
  }
  const schema = spec['schema'] ?? { type: 'object' };
  if (!isRecord(schema) || schema['type'] !== 'object') {
    throw new TranslationError(
      'Anthropic models need a json_schema whose root is an object schema',
      'response_format.json_schema.schema',
    );
  }
  const about = [spec['name'], spec['description']].filter((v) => typeof v === 'string');
  return {
    name: JSON_TOOL,
    description:
      'Give your whole answer as the input of this tool, matching its schema' +
      (about.length > 0 ? ` (${about.join(': ')}).` : '.'),
    input_schema: schema,
  };
}
