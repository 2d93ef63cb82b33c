import { createHash } from 'node:crypto';

/**
 * A grouping key for items that share a long prompt prefix (system prompt, few-shot examples, a shared document):
 * the runner takes items in key order inside a batch, so requests with the same prefix reach the upstream close
 * together and its context cache hits (DeepSeek reports them as `prompt_cache_hit_tokens`). The key is a hash of the
 * first `chars` characters of the prompt as the model sees it, in order. Pure.
 */
export function prefixKey(body: Record<string, unknown>, chars: number): string {
  let text = '';
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (text.length >= chars) break;
      const c = (m as { content?: unknown } | null)?.content;
      text += `\u0000${String((m as { role?: unknown } | null)?.role)}\u0000${typeof c === 'string' ? c : JSON.stringify(c)}`;
    }
  } else if (typeof body.prompt === 'string') {
    text = body.prompt;
  } else if (body.input !== undefined) {
    text = JSON.stringify(body.input);
  }
  return createHash('sha1')
    .update(`${String(body.model)}\u0000${text.slice(0, chars)}`)
    .digest('hex')
    .slice(0, 16);
}
