/**
 * Content-addressed keys for summaries: the same older messages summarised by the same model
 * give the same key on every replica, whatever order the client serialised object keys in.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '../cache/index.js';
import type { ChatMessage } from './types.js';

/** sha256 (hex) of the summariser model and the messages it summarises. */
export function summaryCacheKey(summarizerModel: string, older: readonly ChatMessage[]): string {
  return hash('sha256', canonicalJson({ summarizerModel, messages: older }), 'hex');
}
