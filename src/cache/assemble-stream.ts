/**
 * A streamed answer, chunk by chunk, assembled into the non-stream answer the same request would have received,
 * so one stored form serves both kinds of request. Chat chunks carry `delta`s (content, reasoning_content, tool-call
 * pieces by index); legacy completion chunks carry `text`. Hand-written: no library assembles OpenAI chunks outside
 * the SDKs' own client-side helpers, which are built for one consumer and not for the server side.
 */
type Json = Record<string, unknown>;

interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string };
}
interface Choice {
  index: number;
  role: string | undefined;
  content: string;
  reasoning: string | undefined;
  tools: ToolCall[];
  text: string;
  logprobs: unknown[] | undefined;
  finish: unknown;
}

export class StreamAssembler {
  private head: Json | undefined;
  private readonly choices = new Map<number, Choice>();
  private usage: unknown;
  private chat = true;
  /** False once a chunk was not understood: such an answer is not stored. */
  ok = true;

  /** One `data:` payload (not `[DONE]`). */
  add(data: string): void {
    let j: Json;
    try {
      j = JSON.parse(data) as Json;
    } catch {
      this.ok = false;
      return;
    }
    if (j === null || typeof j !== 'object' || 'error' in j) {
      this.ok = false;
      return;
    }
    if (this.head === undefined) {
      this.head = j;
      this.chat = j.object !== 'text_completion';
    }
    if (j.usage !== undefined && j.usage !== null) this.usage = j.usage;
    if (!Array.isArray(j.choices)) return;
    for (const c of j.choices as Json[]) this.addChoice(c);
  }

  private addChoice(c: Json): void {
    const index = typeof c.index === 'number' ? c.index : 0;
    let ch = this.choices.get(index);
    if (ch === undefined) {
      ch = {
        index,
        role: undefined,
        content: '',
        reasoning: undefined,
        tools: [],
        text: '',
        logprobs: undefined,
        finish: null,
      };
      this.choices.set(index, ch);
    }
    if (typeof c.text === 'string') ch.text += c.text;
    const lp = (c.logprobs as { content?: unknown } | null | undefined)?.content;
    if (Array.isArray(lp)) (ch.logprobs ??= []).push(...(lp as unknown[]));
    if (c.finish_reason !== undefined && c.finish_reason !== null) ch.finish = c.finish_reason;
    const d = c.delta as Json | undefined;
    if (d === undefined || d === null) return;
    if (typeof d.role === 'string') ch.role = d.role;
    if (typeof d.content === 'string') ch.content += d.content;
    if (typeof d.reasoning_content === 'string') ch.reasoning = (ch.reasoning ?? '') + d.reasoning_content;
    if (Array.isArray(d.tool_calls)) {
      for (const t of d.tool_calls as Json[]) {
        const i = typeof t.index === 'number' ? t.index : ch.tools.length;
        const tool = (ch.tools[i] ??= { function: { name: '', arguments: '' } });
        if (typeof t.id === 'string') tool.id = t.id;
        if (typeof t.type === 'string') tool.type = t.type;
        const f = t.function as { name?: unknown; arguments?: unknown } | undefined;
        if (typeof f?.name === 'string') tool.function.name += f.name;
        if (typeof f?.arguments === 'string') tool.function.arguments += f.arguments;
      }
    }
  }

  /** The non-stream answer, or undefined when the stream did not make one. */
  answer(): Json | undefined {
    const h = this.head;
    if (h === undefined || !this.ok || this.choices.size === 0) return undefined;
    const choices = [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((c) => (this.chat ? chatChoice(c) : textChoice(c)));
    const out: Json = {
      id: h.id,
      object: this.chat ? 'chat.completion' : 'text_completion',
      created: h.created,
      model: h.model,
    };
    if (h.system_fingerprint !== undefined) out.system_fingerprint = h.system_fingerprint;
    out.choices = choices;
    if (this.usage !== undefined) out.usage = this.usage;
    return out;
  }
}

function chatChoice(c: Choice): Json {
  const message: Json = {
    role: c.role ?? 'assistant',
    content: c.content === '' && c.tools.length > 0 ? null : c.content,
  };
  if (c.reasoning !== undefined) message.reasoning_content = c.reasoning;
  if (c.tools.length > 0)
    message.tool_calls = c.tools.map((t) => ({ id: t.id, type: t.type ?? 'function', function: t.function }));
  return {
    index: c.index,
    message,
    logprobs: c.logprobs === undefined ? null : { content: c.logprobs },
    finish_reason: c.finish,
  };
}

function textChoice(c: Choice): Json {
  return { index: c.index, text: c.text, logprobs: null, finish_reason: c.finish };
}

/**
 * Only a complete, successful answer is stored: it has choices, every one of them finished (a `finish_reason`),
 * and it carries no in-band error.
 */
export function isCompleteAnswer(a: unknown): a is Json {
  if (a === null || typeof a !== 'object' || 'error' in a) return false;
  const choices = (a as Json).choices;
  return (
    Array.isArray(choices) &&
    choices.length > 0 &&
    choices.every((c: Json) => typeof c.finish_reason === 'string' && c.finish_reason !== '')
  );
}
