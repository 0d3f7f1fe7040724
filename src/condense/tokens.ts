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
 * tokens than bytes, so if the bytes fit, the tokens fit and nothing is encoded. Otherwise
 * text is encoded in bounded segments (text-segments.ts: no piece is long, so no encoding is
 * quadratic), and the request path encodes through createTokenCounter(), which gives the
 * event loop back every SLICE_MS and stops when the request's signal aborts: a 4 MiB body
 * may take a request a few seconds of CPU, never the process.
 */
import { sleep } from '../tasks/timers.js';
import { callsOf, nameOf, toolCallIdOf } from './message-fields.js';
import { boundedSegments } from './text-segments.js';
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

/**
 * How long the request path encodes before giving the event loop back. NOTE: one piece
 * costs at most ~1-3 ms (text-segments.ts), so the loop waits about this plus one piece; a
 * yield is a 0 ms sleep, about 1 ms on Node's timers, so encoding loses under 10% to it.
 */
export const SLICE_MS = 10;

// User text may contain "<|endoftext|>" and friends: count them as the text they are,
// instead of letting the tokenizer throw on a disallowed special token.
const AS_TEXT = { disallowedSpecial: new Set<string>() };

interface Encoding {
  countTokens(text: string, options: typeof AS_TEXT): number;
  /** One array of tokens per pre-tokenizer piece. */
  encodeGenerator(text: string, options: typeof AS_TEXT): Iterator<number[], unknown>;
}
let encoding: Encoding | undefined;

/**
 * Loads the o200k_base encoding once. NOTE: it holds about 70 MB resident, so it is loaded
 * on first use by a model configured for condensation, never by a proxy that has none.
 */
export async function loadTokenizer(): Promise<void> {
  encoding ??= await import('gpt-tokenizer/encoding/o200k_base');
}

function loaded(): Encoding {
  if (encoding === undefined) throw new Error('token counting before loadTokenizer()');
  return encoding;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Tokens of a text, encoded all at once: for short texts and tests, not the request path. */
function textTokens(text: string): number {
  if (text.length === 0) return 0;
  const enc = loaded();
  let n = 0;
  for (const segment of boundedSegments(text)) n += enc.countTokens(segment, AS_TEXT);
  return n;
}

/** Gives the event loop back once a slice of encoding is used up; throws once aborted. */
class Pacer {
  private since = performance.now();
  constructor(private readonly signal: AbortSignal) {}

  get due(): boolean {
    return performance.now() - this.since >= SLICE_MS;
  }

  async yield(): Promise<void> {
    if (!(await sleep(0, this.signal))) throw this.signal.reason;
    this.since = performance.now();
  }
}

/** textTokens, piece by piece, pausing whenever `pacer` says so. */
async function pacedTextTokens(text: string, pacer: Pacer): Promise<number> {
  if (text.length === 0) return 0;
  const enc = loaded();
  let n = 0;
  for (const segment of boundedSegments(text)) {
    const pieces = enc.encodeGenerator(segment, AS_TEXT);
    for (let piece = pieces.next(); piece.done !== true; piece = pieces.next()) {
      n += piece.value.length;
      if (pacer.due) await pacer.yield();
    }
  }
  return n;
}

/** What a message costs: tokens known without encoding, and the texts to encode. */
interface MessageCost {
  fixed: number;
  texts: string[];
}

function messageCost(m: ChatMessage): MessageCost {
  const cost: MessageCost = { fixed: TOKENS_PER_MESSAGE, texts: [m.role] };
  const content = m.content;
  if (typeof content === 'string') cost.texts.push(content);
  else if (content != null) for (const part of content) addPart(cost, part);
  const name = nameOf(m);
  if (name !== undefined) {
    cost.texts.push(name);
    cost.fixed += TOKENS_PER_NAME;
  }
  const callId = toolCallIdOf(m);
  if (callId !== undefined) cost.texts.push(callId);
  for (const call of callsOf(m)) {
    cost.fixed += TOKENS_PER_TOOL_CALL;
    cost.texts.push(call.name, call.input);
  }
  return cost;
}

function addPart(cost: MessageCost, part: ChatContentPart): void {
  // NOTE: a part type the wire types don't list may arrive: only the default reads it.
  switch (part.type) {
    case 'text':
      cost.texts.push(part.text);
      return;
    case 'refusal':
      cost.texts.push(part.refusal);
      return;
    case 'image_url':
      cost.fixed += part.image_url.detail === 'low' ? IMAGE_TOKENS.low : IMAGE_TOKENS.high;
      return;
    default:
      cost.fixed += IMAGE_TOKENS.high;
  }
}

/** Tokens of one message, framing included (reply priming excluded). */
export function messageTokens(m: ChatMessage): number {
  const { fixed, texts } = messageCost(m);
  return texts.reduce((n, text) => n + textTokens(text), fixed);
}

/** Prompt tokens of a conversation as OpenAI counts them. */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += messageTokens(m);
  return n;
}

/** Counts for one request: messages are encoded by measure(), then counted by count(). */
export interface TokenCounter {
  /**
   * Encodes every message not measured yet, giving the event loop back every SLICE_MS.
   * Rejects with the signal's reason once it aborts.
   */
  readonly measure: (messages: readonly ChatMessage[], signal: AbortSignal) => Promise<void>;
  /** Prompt tokens of measured messages (a pure, additive TokenCount for policy.ts). */
  readonly count: TokenCount;
}

/**
 * A counter for one request: each message object is encoded at most once, however many
 * times policy re-counts sub-lists of the conversation. Held weakly, dropped with the request.
 */
export function createTokenCounter(): TokenCounter {
  const memo = new WeakMap<ChatMessage, number>();
  return {
    async measure(messages, signal) {
      signal.throwIfAborted();
      const pacer = new Pacer(signal);
      for (const m of messages) {
        if (memo.has(m)) continue;
        const { fixed, texts } = messageCost(m);
        let n = fixed;
        for (const text of texts) n += await pacedTextTokens(text, pacer);
        memo.set(m, n);
      }
    },
    count(messages) {
      let n = REPLY_PRIMING_TOKENS;
      for (const m of messages) {
        const t = memo.get(m);
        if (t === undefined) throw new Error('counting a message measure() has not encoded');
        n += t;
      }
      return n;
    },
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
    const { fixed, texts } = messageCost(m);
    n += texts.reduce((sum, text) => sum + bytes(text), fixed);
  }
  return n;
}
