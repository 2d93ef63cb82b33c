/**
 * DeepSeek answers 400 on the next turn of a tool loop when an assistant message that made tool calls comes back
 * without its `reasoning_content` (thinking mode keeps the reasoning across tool-call turns). Clients written for
 * OpenAI drop that field when they echo the assistant message, so Spillway restores it: empty, since the text is
 * gone — DeepSeek accepts `""`.
 *
 * Mutates `body` (a parse of the request made for this purpose) and says whether it changed anything (pure).
 */
export function repairReasoning(body: Record<string, unknown>): boolean {
  const messages = body.messages;
  if (!Array.isArray(messages)) return false;
  let changed = false;
  for (const m of messages as unknown[]) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    if (msg.role !== 'assistant' || !Array.isArray(msg.tool_calls) || msg.tool_calls.length === 0) continue;
    if (typeof msg.reasoning_content === 'string') continue;
    msg.reasoning_content = '';
    changed = true;
  }
  return changed;
}
