/**
 * Prompt token counts with the real o200k_base tokenizer (GPT-4o and later), following the
 * accounting of OpenAI's cookbook ("How to count tokens with tiktoken"): 3 tokens of framing
 * per message, the tokens of every value (role, content, name, ...), 1 more for a name, and
 * 3 for priming the reply. For the cookbook's sample conversation this gives the 124 tokens
 * the OpenAI API reports for gpt-4o.
 *
 * Cost: encoding runs at ~1-4 us per short string, but long conversations are long strings,
 * and this runs on every request to a condensed model. `tokenUpperBound` answers the common
 * case (well under budget) from UTF-8 byte lengths alone: byte-level BPE never makes more
 * tokens than bytes, so if the bytes fit, the tokens fit and nothing is encoded.
 */
import { callsOf, nameOf, toolCallIdOf } from './message-fields.js';
import type { ChatContentPart, ChatMessage, TokenCount } from './types.js';

export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING_TOKENS = 3;
/** Framing around each tool call (id/type/name wrappers); OpenAI does not document it. */
export const TOKENS_PER_TOOL_CALL = 3;
/**
 * Images are billed by size, which the proxy doesn't know without fetching them: a fixed
 * cost per part, the price of a 512px tile at low detail and of a 1024px square otherwise.
 * Other non-text parts (audio, files, and types the proxy does not know, which validation
 * passes on) are charged like a high-detail image.
 */
export const IMAGE_TOKENS = { low: 85, high: 765 } as const;

// User text may contain "<|endoftext|>" and friends: count them as the text they are,
// instead of letting the tokenizer throw on a disallowed special token.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

type CountTokens = (text: string, options: typeof AS_TEXT) => number;
let countTokens: CountTokens | undefined;

/**
 * Loads the o200k_base encoding once. NOTE: it holds about 70 MB resident, so it is loaded
 * on first use by a model configured for condensation, never by a proxy that has none.
 */
export async function loadTokenizer(): Promise<void> {
  countTokens ??= (await import('gpt-tokenizer/encoding/o200k_base')).countTokens;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function textTokens(text: string): number {
  if (text.length === 0) return 0;
  if (countTokens === undefined) throw new Error('token counting before loadTokenizer()');
  return countTokens(text, AS_TEXT);
}

function partTokens(part: ChatContentPart): number {
  // NOTE: a part type the wire types don't list may arrive: only the default reads it.
  switch (part.type) {
    case 'text':
      return textTokens(part.text);
    case 'refusal':
      return textTokens(part.refusal);
    case 'image_url':
      return part.image_url.detail === 'low' ? IMAGE_TOKENS.low : IMAGE_TOKENS.high;
    default:
      return IMAGE_TOKENS.high;
  }
}

/** partTokens' bound: its text counted one token per UTF-8 byte. */
function partBound(part: ChatContentPart): number {
  if (part.type === 'text') return bytes(part.text);
  if (part.type === 'refusal') return bytes(part.refusal);
  return IMAGE_TOKENS.high;
}

/** Tokens of one message, framing included (reply priming excluded). */
export function messageTokens(m: ChatMessage): number {
  let n = TOKENS_PER_MESSAGE + textTokens(m.role);
  const content = m.content;
  if (typeof content === 'string') n += textTokens(content);
  else if (content != null) for (const part of content) n += partTokens(part);
  const name = nameOf(m);
  if (name !== undefined) n += textTokens(name) + TOKENS_PER_NAME;
  const callId = toolCallIdOf(m);
  if (callId !== undefined) n += textTokens(callId);
  for (const call of callsOf(m)) {
    n += TOKENS_PER_TOOL_CALL + textTokens(call.name) + textTokens(call.input);
  }
  return n;
}

/** Prompt tokens of a conversation as OpenAI counts them. */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += messageTokens(m);
  return n;
}

/**
 * A counter for one request: each message object is encoded at most once, however many
 * times policy re-counts sub-lists of the conversation. Held weakly, dropped with the request.
 */
export function createTokenCounter(): TokenCount {
  const memo = new WeakMap<ChatMessage, number>();
  return (messages) => {
    let n = REPLY_PRIMING_TOKENS;
    for (const m of messages) {
      let t = memo.get(m);
      if (t === undefined) {
        t = messageTokens(m);
        memo.set(m, t);
      }
      n += t;
    }
    return n;
  };
}

/**
 * An upper bound of countMessageTokens without encoding: every string counted as one token
 * per UTF-8 byte. (One token per character is not a bound: a rare CJK character or an emoji
 * can take 2-4 tokens.) Exact framing and image costs are added as they are.
 */
export function tokenUpperBound(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) {
    n += TOKENS_PER_MESSAGE + bytes(m.role);
    const content = m.content;
    if (typeof content === 'string') n += bytes(content);
    else if (content != null) for (const part of content) n += partBound(part);
    const name = nameOf(m);
    if (name !== undefined) n += bytes(name) + TOKENS_PER_NAME;
    const callId = toolCallIdOf(m);
    if (callId !== undefined) n += bytes(callId);
    for (const call of callsOf(m)) {
      n += TOKENS_PER_TOOL_CALL + bytes(call.name) + bytes(call.input);
    }
  }
  return n;
}
