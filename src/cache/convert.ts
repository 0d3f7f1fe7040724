/**
 * The two conversions behind replaying a cached chat answer in the other shape: a stored
 * completion as stream chunks, and stored chunks as one completion. Each is exact or throws.
 * Every field met must be one known to carry both ways; any other (a provider's extension,
 * `audio`, whose stream form has its own protocol) makes the conversion refuse, so the entry
 * is a miss in that shape rather than a lossy answer. A field that is null counts as absent.
 */
import { isRecord } from '../json.js';

type Json = Record<string, unknown>;

/** Message text a stream delivers in pieces, concatenated in order. */
const TEXT_FIELDS = ['content', 'refusal', 'reasoning_content', 'reasoning'] as const;
/** Answer-level fields every chunk repeats and a completion carries once. */
const HEAD_FIELDS = ['system_fingerprint', 'service_tier'] as const;

const COMPLETION_KEYS = new Set([
  'id',
  'object',
  'created',
  'model',
  'choices',
  'usage',
  ...HEAD_FIELDS,
]);
/** `obfuscation` is random padding against length side channels: dropped, never replayed. */
const CHUNK_KEYS = new Set([...COMPLETION_KEYS, 'obfuscation']);
const CHOICE_KEYS = new Set(['index', 'message', 'logprobs', 'finish_reason']);
const CHUNK_CHOICE_KEYS = new Set(['index', 'delta', 'logprobs', 'finish_reason']);
const MESSAGE_KEYS = new Set([
  'role',
  ...TEXT_FIELDS,
  'tool_calls',
  'function_call',
  'annotations',
]);
const TOOL_CALL_KEYS = new Set(['id', 'type', 'function']);
const TOOL_DELTA_KEYS = new Set([...TOOL_CALL_KEYS, 'index']);
const FUNCTION_KEYS = new Set(['name', 'arguments']);
const LOGPROBS_KEYS = new Set(['content', 'refusal']);

function refuse(why: string): never {
  throw new Error(`cannot convert: ${why}`);
}

/** `value` as an object whose every non-null member is one of `keys`. */
function known(value: unknown, keys: ReadonlySet<string>, what: string): Json {
  if (!isRecord(value)) refuse(`${what} is not an object`);
  for (const [k, v] of Object.entries(value))
    if (v !== null && !keys.has(k)) refuse(`${what}.${k}`);
  return value;
}

function text(value: unknown): string | undefined {
  if (value == null) return undefined;
  return typeof value === 'string' ? value : refuse('text is not a string');
}

function list(value: unknown): unknown[] | undefined {
  if (value == null) return undefined;
  return Array.isArray(value) ? (value as unknown[]) : refuse('not an array');
}

function count(value: unknown): number {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : refuse('index');
}

function logprobsOf(value: unknown): { content: unknown[] | null; refusal: unknown[] | null } {
  const lp = known(value, LOGPROBS_KEYS, 'logprobs');
  return { content: list(lp.content) ?? null, refusal: list(lp.refusal) ?? null };
}

function headOf(answer: Json): Json {
  const head: Json = {};
  for (const f of HEAD_FIELDS) if (answer[f] != null) head[f] = answer[f];
  return head;
}

/**
 * A completion (JSON text) as the chunks a stream of it would have sent: per choice a role
 * chunk, one chunk with all of its text, tool calls, annotations and logprobs, and a finish
 * chunk; then, if asked, the usage chunk. Throws when it has no usage to give.
 */
export function completionToChunks(body: string, includeUsage: boolean): string[] {
  const c = known(JSON.parse(body), COMPLETION_KEYS, 'completion');
  const base = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model };
  const head = headOf(c);
  const out: string[] = [];
  const emit = (choice: Json): void => {
    out.push(JSON.stringify({ ...base, ...head, choices: [choice] }));
  };
  for (const raw of list(c.choices) ?? refuse('no choices')) {
    const choice = known(raw, CHOICE_KEYS, 'choice');
    const index = count(choice.index);
    const message = known(choice.message, MESSAGE_KEYS, 'message');
    const finish = text(choice.finish_reason) ?? refuse('no finish_reason');
    const role = text(message.role) ?? 'assistant';
    const content = text(message.content);
    emit({
      index,
      delta: { role, content: content === undefined ? null : '', refusal: null },
      logprobs: null,
      finish_reason: null,
    });
    const delta: Json = {};
    for (const f of TEXT_FIELDS) {
      const piece = text(message[f]);
      if (piece !== undefined && piece !== '') delta[f] = piece;
    }
    const toolCalls = list(message.tool_calls) ?? [];
    if (toolCalls.length > 0) {
      delta.tool_calls = toolCalls.map((t, i) => {
        const call = known(t, TOOL_CALL_KEYS, 'tool_call');
        return { index: i, ...call, function: known(call.function, FUNCTION_KEYS, 'function') };
      });
    }
    if (message.function_call != null)
      delta.function_call = known(message.function_call, FUNCTION_KEYS, 'function_call');
    const annotations = list(message.annotations) ?? [];
    if (annotations.length > 0) delta.annotations = annotations;
    const logprobs = choice.logprobs == null ? null : logprobsOf(choice.logprobs);
    if (Object.keys(delta).length > 0 || logprobs !== null)
      emit({ index, delta, logprobs, finish_reason: null });
    emit({ index, delta: {}, logprobs: null, finish_reason: finish });
  }
  if (includeUsage) {
    if (!isRecord(c.usage)) refuse('usage asked for, none stored');
    out.push(JSON.stringify({ ...base, ...head, choices: [], usage: c.usage }));
  }
  return out;
}

interface ChoiceSoFar {
  role: string;
  texts: Partial<Record<(typeof TEXT_FIELDS)[number], string>>;
  toolCalls: { id: string; type: string; function: { name: string; arguments: string } }[];
  functionCall: { name: string; arguments: string } | undefined;
  annotations: unknown[];
  logprobs: { content: unknown[] | null; refusal: unknown[] | null } | undefined;
  finish: string | undefined;
}

const newChoice = (): ChoiceSoFar => ({
  role: 'assistant',
  texts: {},
  toolCalls: [],
  functionCall: undefined,
  annotations: [],
  logprobs: undefined,
  finish: undefined,
});

function addDelta(acc: ChoiceSoFar, delta: Json): void {
  acc.role = text(delta.role) ?? acc.role;
  for (const f of TEXT_FIELDS) {
    const piece = text(delta[f]);
    if (piece !== undefined) acc.texts[f] = (acc.texts[f] ?? '') + piece;
  }
  for (const raw of list(delta.tool_calls) ?? []) {
    const t = known(raw, TOOL_DELTA_KEYS, 'tool_call');
    const slot = (acc.toolCalls[count(t.index)] ??= {
      id: '',
      type: 'function',
      function: { name: '', arguments: '' },
    });
    slot.id = text(t.id) ?? slot.id;
    slot.type = text(t.type) ?? slot.type;
    if (t.function != null) {
      const fn = known(t.function, FUNCTION_KEYS, 'function');
      slot.function.name += text(fn.name) ?? '';
      slot.function.arguments += text(fn.arguments) ?? '';
    }
  }
  if (delta.function_call != null) {
    const fn = known(delta.function_call, FUNCTION_KEYS, 'function_call');
    acc.functionCall ??= { name: '', arguments: '' };
    acc.functionCall.name += text(fn.name) ?? '';
    acc.functionCall.arguments += text(fn.arguments) ?? '';
  }
  acc.annotations.push(...(list(delta.annotations) ?? []));
}

function messageOf(acc: ChoiceSoFar): Json {
  const { content, refusal, ...reasoning } = acc.texts;
  const calls = Array.from(acc.toolCalls, (t) => t ?? refuse('a tool call index was skipped'));
  const other = (refusal ?? '') !== '' || calls.length > 0 || acc.functionCall !== undefined;
  const message: Json = { role: acc.role, content: content ?? null, refusal: refusal || null };
  // A stream may open with content "" when the answer is a refusal or tool calls; the
  // completion of such an answer says content null.
  if (content === '' && other) message.content = null;
  for (const [f, piece] of Object.entries(reasoning)) if (piece !== '') message[f] = piece;
  if (calls.length > 0) message.tool_calls = calls;
  if (acc.functionCall !== undefined) message.function_call = acc.functionCall;
  if (acc.annotations.length > 0) message.annotations = acc.annotations;
  return message;
}

/**
 * Stream chunks (JSON texts) assembled into the completion a non-streaming request would
 * have got. Throws when a choice never finished, or no usage was streamed: a completion
 * always carries usage, and a stream has it only if its request asked.
 */
export function chunksToCompletion(chunks: readonly string[]): string {
  let first: Json | undefined;
  const head: Json = {};
  let usage: Json | undefined;
  const choices = new Map<number, ChoiceSoFar>();
  for (const raw of chunks) {
    const chunk = known(JSON.parse(raw), CHUNK_KEYS, 'chunk');
    first ??= chunk;
    Object.assign(head, headOf(chunk));
    if (chunk.usage != null) usage = isRecord(chunk.usage) ? chunk.usage : refuse('usage');
    for (const rawChoice of list(chunk.choices) ?? refuse('no choices')) {
      const choice = known(rawChoice, CHUNK_CHOICE_KEYS, 'choice');
      const index = count(choice.index);
      let acc = choices.get(index);
      if (acc === undefined) choices.set(index, (acc = newChoice()));
      addDelta(acc, known(choice.delta, MESSAGE_KEYS, 'delta'));
      if (choice.logprobs != null) {
        const lp = logprobsOf(choice.logprobs);
        acc.logprobs ??= { content: null, refusal: null };
        if (lp.content !== null) (acc.logprobs.content ??= []).push(...lp.content);
        if (lp.refusal !== null) (acc.logprobs.refusal ??= []).push(...lp.refusal);
      }
      acc.finish = text(choice.finish_reason) ?? acc.finish;
    }
  }
  if (first === undefined) refuse('no chunks');
  if (usage === undefined) refuse('no usage was streamed');
  const completion = {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, acc]) => ({
        index,
        message: messageOf(acc),
        logprobs: acc.logprobs ?? null,
        finish_reason: acc.finish ?? refuse(`choice ${index} never finished`),
      })),
    usage,
    ...head,
  };
  return JSON.stringify(completion);
}
