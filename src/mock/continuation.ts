import { CONTINUE_PROMPT } from '../retry/continuation.ts';
import { promptText } from './answer-text.ts';

/**
 * A request that continues an earlier answer from its text so far, in any of the three forms a gateway uses:
 * DeepSeek's chat prefix completion (last assistant message with `prefix: true`), vLLM's `continue_final_message`,
 * or the partial answer followed by a user turn asking to continue. A real model continues the text; the simulator
 * continues its deterministic answer after the prefix's tokens, so a client can check the whole answer.
 */
export interface Continuation {
  /** The prompt of the original request (the messages before the partial answer). */
  prompt: string;
  /** How many of the answer's tokens the prefix already holds. */
  prefixTokens: number;
}

type Message = { role?: unknown; content?: unknown; prefix?: unknown };

export function continuationOf(body: Record<string, unknown>): Continuation | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as Message[]) : [];
  const last = messages.at(-1);
  if (last?.role === 'assistant' && (last.prefix === true || body.continue_final_message === true) && typeof last.content === 'string') {
    return { prompt: promptText({ messages: messages.slice(0, -1) }), prefixTokens: countTokens(last.content) };
  }
  const before = messages.at(-2);
  if (last?.role === 'user' && last.content === CONTINUE_PROMPT && before?.role === 'assistant' && typeof before.content === 'string') {
    return { prompt: promptText({ messages: messages.slice(0, -2) }), prefixTokens: countTokens(before.content) };
  }
  return undefined;
}

/** The simulator's tokens are space-separated words, each carrying its index. */
function countTokens(text: string): number {
  return text.split(' ').filter((t) => t !== '').length;
}
