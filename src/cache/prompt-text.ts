/**
 * The text a semantic lookup embeds: the conversation (role and text of every message, text parts of multi-part
 * content) for chat, the prompt for legacy completions. Images and other parts are not text and are left out, so
 * two requests that differ only there would look alike: the partition (every other field, exactly) and the
 * threshold are what keep them apart.
 */
export function promptText(endpoint: string, body: Readonly<Record<string, unknown>>): string {
  if (endpoint !== 'chat') return typeof body.prompt === 'string' ? body.prompt : JSON.stringify(body.prompt);
  const lines: string[] = [];
  for (const m of (body.messages as { role?: unknown; content?: unknown }[] | undefined) ?? []) {
    lines.push(`${typeof m.role === 'string' ? m.role : ''}: ${contentText(m.content)}`);
  }
  return lines.join('\n');
}

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c
    .map((p: { type?: unknown; text?: unknown }) => (p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
    .join('');
}

/** The body without its prompt: what must match exactly for a similar prompt's answer to be reused. */
export function withoutPrompt(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { messages: _m, prompt: _p, ...rest } = body;
  return rest;
}
