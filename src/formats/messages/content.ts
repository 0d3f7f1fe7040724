/**
 * Messages content blocks as chat content parts: text, images (base64 as a data: URL, or the
 * URL), documents (a PDF as a `file` part with a data: URL, plain text as text). Paths in
 * errors are Anthropic's (`messages.0.content.2.source.type`).
 */
import type { ChatContentPart } from '../../upstream/openai-types.js';
import { invalidRequest } from './errors.js';
import type {
  AnthropicContentBlockParam,
  AnthropicDocumentBlock,
  AnthropicImageBlock,
} from './types.js';

/** The parts of several blocks; `at` is the path of their array. */
export function contentParts(
  blocks: readonly AnthropicContentBlockParam[],
  at: string,
): ChatContentPart[] {
  return blocks.flatMap((block, j) => blockParts(block, `${at}.${j}`));
}

/** The parts of one block in a user turn or a tool result; `at` is the block's path. */
export function blockParts(block: AnthropicContentBlockParam, at: string): ChatContentPart[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: block.text }];
    case 'image':
      return [imagePart(block, at)];
    case 'document':
      return documentParts(block, at);
    default:
      throw invalidRequest(
        `${at}.type`,
        `'${(block as { type: string }).type}' blocks cannot be translated for this model; ` +
          'they are served only by providers that speak the Messages API natively',
      );
  }
}

function imagePart(block: AnthropicImageBlock, at: string): ChatContentPart {
  const source = block.source;
  if (source.type === 'base64') {
    const url = `data:${source.media_type};base64,${source.data}`;
    return { type: 'image_url', image_url: { url } };
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } };
  throw unsupportedSource(source, `${at}.source.type`);
}

function documentParts(block: AnthropicDocumentBlock, at: string): ChatContentPart[] {
  const source = block.source;
  switch (source.type) {
    case 'base64': {
      const filename = block.title != null && block.title !== '' ? block.title : 'document.pdf';
      const fileData = `data:${source.media_type};base64,${source.data}`;
      return [{ type: 'file', file: { file_data: fileData, filename } }];
    }
    case 'text': {
      // The title and context are what tell the model which document this is.
      const head = [block.title, block.context].filter((s) => s != null && s !== '');
      return [{ type: 'text', text: [...head, source.data].join('\n\n') }];
    }
    case 'content':
      if (typeof source.content === 'string') return [{ type: 'text', text: source.content }];
      return contentParts(source.content, `${at}.source.content`);
    case 'url':
      // Chat's file parts take data or a file id, never a URL, and the proxy fetches nothing.
      throw invalidRequest(
        `${at}.source.type`,
        "URL documents cannot be translated for this model; send the PDF as 'base64'",
      );
    default:
      throw unsupportedSource(source, `${at}.source.type`);
  }
}

function unsupportedSource(source: { type: string }, at: string) {
  return invalidRequest(
    at,
    `'${source.type}' sources cannot be translated for this model; send 'base64' or 'url'`,
  );
}
