import { CONTINUE_PROMPT } from '../retry/continuation.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import { promptText } from './answer-text.ts';
import type { MockError } from './openai-error.ts';

/**
 * A request that continues an earlier answer from its text so far, in the forms a gateway uses: DeepSeek's chat
 * prefix completion (last assistant message with `prefix: true`), vLLM's and SGLang's `continue_final_message`,
 * or the partial answer followed by a user turn asking to continue. A real model continues the text; the simulator
 * continues its deterministic answer after the prefix's tokens, so a client can check the whole answer.
 *
 * A simulator with a `kind` understands only that server's own form, as the real one does: DeepSeek ignores
 * `continue_final_message`, vLLM and SGLang ignore a message's `prefix` (the answer then starts afresh, and a
 * client checking the whole text sees the wrong form was sent). Without a kind every form is understood.
 */
export interface Continuation {
  /** The prompt of the original request (the messages before the partial answer). */
  prompt: string;
  /** How many of the answer's tokens the prefix already holds. */
  prefixTokens: number;
}

type Message = {
  role?: unknown;
  content?: unknown;
  prefix?: unknown;
  tool_calls?: unknown;
  reasoning_content?: unknown;
};

export function continuationOf(body: Record<string, unknown>, kind?: UpstreamKind): Continuation | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as Message[]) : [];
  const last = messages.at(-1);
  const prefix = last?.prefix === true && (kind === undefined || kind === 'deepseek');
  const final = body.continue_final_message === true && (kind === undefined || kind === 'vllm' || kind === 'sglang');
  if (last?.role === 'assistant' && (prefix || final) && typeof last.content === 'string') {
    return { prompt: promptText({ messages: messages.slice(0, -1) }), prefixTokens: countTokens(last.content) };
  }
  const before = messages.at(-2);
  if (
    last?.role === 'user' &&
    last.content === CONTINUE_PROMPT &&
    before?.role === 'assistant' &&
    typeof before.content === 'string'
  ) {
    return { prompt: promptText({ messages: messages.slice(0, -2) }), prefixTokens: countTokens(before.content) };
  }
  return undefined;
}

/**
 * What DeepSeek refuses that another server would serve, as its documentation says (pure): chat prefix completion
 * and FIM (`/completions` with a `suffix`) outside the `/beta` base path, and, in a tool loop, an assistant turn
 * with tool calls that lost its `reasoning_content`. `api` is the endpoint path without `/v1` or `/beta`.
 */
export function deepseekRefusal(api: string, body: Record<string, unknown>, beta: boolean): MockError | undefined {
  if (api === '/completions' && body.suffix !== undefined && body.suffix !== null && !beta) {
    return badRequest(
      'FIM completion (suffix) is a beta feature: use base_url https://api.deepseek.com/beta',
      'suffix',
    );
  }
  if (api !== '/chat/completions') return undefined;
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  const last = messages.at(-1) as Message | undefined;
  if (!beta && typeof last === 'object' && last !== null && last.prefix === true) {
    return badRequest(
      'Chat prefix completion (prefix: true) is a beta feature: use base_url https://api.deepseek.com/beta',
      'messages',
    );
  }
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Message;
    if (
      msg.role === 'assistant' &&
      Array.isArray(msg.tool_calls) &&
      msg.tool_calls.length > 0 &&
      typeof msg.reasoning_content !== 'string'
    ) {
      return badRequest(
        `Missing \`reasoning_content\` field in the assistant message at message index ${i}`,
        `messages[${i}]`,
      );
    }
  }
  return undefined;
}

function badRequest(message: string, param: string): MockError {
  return { status: 400, message, param, code: 'invalid_request_error' };
}

/** The simulator's tokens are space-separated words, each carrying its index. */
export function countTokens(text: string): number {
  return text.split(' ').filter((t) => t !== '').length;
}
