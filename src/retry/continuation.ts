import type { StreamText } from '../relay/stream-text.ts';

/**
 * How an upstream continues an answer from a given prefix:
 * - `prefix`: DeepSeek's chat prefix completion (a last assistant message with `prefix: true`; DeepSeek serves it
 *   on its `/beta` base URL);
 * - `continue_final_message`: vLLM's (and SGLang's) parameter that continues the last assistant message;
 * - `prompt`: any OpenAI-compatible server: the partial answer as an assistant turn, then a user turn asking to go
 *   on without repeating. The least exact; use it only where nothing better exists.
 */
export type ContinuationMode = 'off' | 'prefix' | 'continue_final_message' | 'prompt';

export const CONTINUE_PROMPT = 'Continue your previous answer exactly where it stopped, without repeating anything.';

/** The body of the request that continues `sent` (pure). */
export function continuationBody(original: Record<string, unknown>, upstreamModel: string, mode: Exclude<ContinuationMode, 'off'>, sent: StreamText): string {
  const messages = Array.isArray(original.messages) ? [...(original.messages as unknown[])] : [];
  const body: Record<string, unknown> = { ...original, model: upstreamModel, stream: true };
  if (mode === 'prefix') {
    messages.push({ role: 'assistant', content: sent.text, prefix: true });
  } else if (mode === 'continue_final_message') {
    messages.push({ role: 'assistant', content: sent.text });
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  } else {
    messages.push({ role: 'assistant', content: sent.text }, { role: 'user', content: CONTINUE_PROMPT });
  }
  body.messages = messages;
  // The continuation may only produce what the original still could; the content events already sent are tokens.
  for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = original[key];
    if (typeof v === 'number') body[key] = Math.max(1, v - sent.events);
  }
  return JSON.stringify(body);
}
