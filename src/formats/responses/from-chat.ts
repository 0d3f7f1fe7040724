/**
 * A chat completion (JSON) as the Response object OpenAI's API reference shows: the
 * assistant's text and refusal as one message item, each tool call as a function_call item,
 * usage renamed, and the request's fields echoed. Ids come from the injected generator and
 * times from the caller, so the same inputs give the same object.
 */
import type { ChatCompletion } from '../../upstream/openai-types.js';
import { finished, outcomeOf, responseShell, toResponseUsage, type NewId } from './response.js';
import type {
  ItemStatus,
  OutputFunctionCall,
  OutputItem,
  OutputMessage,
  ResponseObject,
  ResponsesRequest,
} from './types.js';

export interface FromChatOptions {
  ids: NewId;
  /** Unix seconds when the answer was complete (`completed_at`). */
  now: number;
}

/** The Response for `completion`, the answer to `req`; throws if it has no choice at all. */
export function fromChatCompletion(
  completion: ChatCompletion,
  req: ResponsesRequest,
  { ids, now }: FromChatOptions,
): ResponseObject {
  const choice = completion.choices[0];
  if (choice === undefined) throw new Error('the chat completion has no choices');
  const shell = responseShell(req, ids('resp'), completion.model, completion.created);
  const outcome = outcomeOf(choice.finish_reason);
  const { content, refusal, tool_calls: calls = [] } = choice.message;
  const itemStatus: ItemStatus = outcome.status === 'completed' ? 'completed' : 'incomplete';

  const output: OutputItem[] = [];
  const hasText = content != null && content !== '';
  if (hasText || refusal != null || calls.length === 0) {
    const message: OutputMessage = {
      id: ids('msg'),
      type: 'message',
      role: 'assistant',
      status: itemStatus,
      content: [],
    };
    if (hasText || refusal == null) {
      message.content.push({
        type: 'output_text',
        text: content ?? '',
        annotations: [],
        logprobs: [],
      });
    }
    if (refusal != null) message.content.push({ type: 'refusal', refusal });
    output.push(message);
  }
  for (const call of calls) {
    const item: OutputFunctionCall = {
      id: ids('fc'),
      type: 'function_call',
      status: itemStatus,
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    };
    output.push(item);
  }
  return { ...finished(shell, outcome, toResponseUsage(completion.usage), now), output };
}
