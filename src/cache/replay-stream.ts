/**
 * A stored non-stream answer replayed as the SSE stream the upstream would have sent: per choice a role chunk,
 * the reasoning, the content and the tool calls as deltas, then a finish chunk; a usage chunk (empty `choices`)
 * when the client asked for `stream_options.include_usage`; then `[DONE]`. The text goes out in one delta each:
 * the answer is already whole, and splitting it would only cost the client parse work.
 */
type Json = Record<string, unknown>;

function event(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

export function replayAsStream(answer: Json, includeUsage: boolean): string {
  const chat = answer.object !== 'text_completion';
  const head: Json = {
    id: answer.id,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: answer.created,
    model: answer.model,
  };
  if (answer.system_fingerprint !== undefined) head.system_fingerprint = answer.system_fingerprint;
  const chunk = (choice: Json): string => event({ ...head, choices: [choice] });
  let out = '';
  for (const c of (answer.choices as Json[] | undefined) ?? []) {
    const index = c.index ?? 0;
    if (!chat) {
      out += chunk({ index, text: c.text ?? '', logprobs: null, finish_reason: null });
      out += chunk({ index, text: '', logprobs: null, finish_reason: c.finish_reason });
      continue;
    }
    const m = (c.message ?? {}) as Json;
    out += chunk({ index, delta: { role: m.role ?? 'assistant', content: '' }, logprobs: null, finish_reason: null });
    if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') {
      out += chunk({ index, delta: { reasoning_content: m.reasoning_content }, logprobs: null, finish_reason: null });
    }
    if (typeof m.content === 'string' && m.content !== '') {
      out += chunk({ index, delta: { content: m.content }, logprobs: c.logprobs ?? null, finish_reason: null });
    }
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const tool_calls = (m.tool_calls as Json[]).map((t, i) => ({ index: i, ...t }));
      out += chunk({ index, delta: { tool_calls }, logprobs: null, finish_reason: null });
    }
    out += chunk({ index, delta: {}, logprobs: null, finish_reason: c.finish_reason });
  }
  if (includeUsage && answer.usage !== undefined) out += event({ ...head, choices: [], usage: answer.usage });
  return `${out}data: [DONE]\n\n`;
}
