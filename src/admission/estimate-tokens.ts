/**
 * Tokens a request will cost, estimated before it runs so token limits can be enforced at the door: the prompt at
 * about four characters a token plus the answer's `max_tokens` (or a default when the client sets none). The
 * estimate is corrected from the real `usage` when the answer is done.
 */
export const DEFAULT_COMPLETION_ESTIMATE = 1024;

export function estimateTokens(body: Record<string, unknown>): number {
  let chars = 0;
  const add = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) for (const x of v) add(x);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      add(o.content);
      add(o.text);
    }
  };
  add(body.messages);
  add(body.prompt);
  add(body.input);
  const max = body.max_completion_tokens ?? body.max_tokens;
  const completion = typeof max === 'number' && max > 0 ? max : body.input !== undefined ? 0 : DEFAULT_COMPLETION_ESTIMATE;
  return Math.ceil(chars / 4) + completion;
}
