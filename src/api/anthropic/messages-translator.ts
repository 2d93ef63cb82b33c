import { firstChoice, objectsIn, type AnswerTranslator } from '../translating-response.ts';
import { anthropicErrorEvent, statusOfCode } from './anthropic-error.ts';

type Json = Record<string, unknown>;

/** finish_reason → stop_reason. */
const STOP_REASON: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

function stopReason(finish: unknown): string | null {
  return typeof finish === 'string' ? (STOP_REASON[finish] ?? 'end_turn') : null;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * Chat usage → Anthropic usage. Anthropic counts cache reads apart from `input_tokens`; DeepSeek reports them as
 * `prompt_cache_hit_tokens`, OpenAI as `prompt_tokens_details.cached_tokens`.
 */
function usageOf(u: unknown): Json {
  const o = (u !== null && typeof u === 'object' ? u : {}) as Json;
  const cached = num(o.prompt_cache_hit_tokens ?? (o.prompt_tokens_details as Json | undefined)?.cached_tokens);
  return {
    input_tokens: Math.max(0, num(o.prompt_tokens) - cached),
    output_tokens: num(o.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function messageId(chatId: unknown): string {
  const id =
    typeof chatId === 'string' && chatId !== '' ? chatId.replace(/^chatcmpl-/, '') : `${Date.now().toString(36)}`;
  return `msg_${id}`;
}

function toolInput(args: unknown): unknown {
  if (typeof args !== 'string' || args === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return {}; // a model's broken JSON: the stream form still carries its raw text (input_json_delta)
  }
}

function event(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The whole chat completion → a Messages answer: thinking, text, then tool_use blocks. */
export function chatToMessage(chat: Json): Json {
  const first = firstChoice(chat, 'message');
  const choice = first?.choice ?? {};
  const m = first?.body ?? {};
  const content: Json[] = [];
  if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '')
    content.push({ type: 'thinking', thinking: m.reasoning_content, signature: '' });
  if (typeof m.content === 'string' && m.content !== '') content.push({ type: 'text', text: m.content });
  for (const t of objectsIn(m.tool_calls)) {
    const fn = (t.function ?? {}) as Json;
    content.push({ type: 'tool_use', id: t.id, name: fn.name, input: toolInput(fn.arguments) });
  }
  return {
    id: messageId(chat.id),
    type: 'message',
    role: 'assistant',
    model: chat.model,
    content,
    stop_reason: stopReason(choice.finish_reason) ?? 'end_turn',
    stop_sequence: null,
    usage: usageOf(chat.usage),
  };
}

/**
 * Translates one Messages answer. A stream is a small state machine over the chat chunks of choice 0:
 *
 *   first chunk ─▶ message_start, ping
 *   reasoning_content ─▶ thinking block │ content ─▶ text block │ tool_calls[i] ─▶ tool_use block (input_json_delta)
 *   a change of kind closes the open block (content_block_stop) and opens the next (content_block_start)
 *   finish_reason, the usage chunk ─▶ remembered;  [DONE] ─▶ content_block_stop, message_delta (stop_reason, usage), message_stop
 *
 * A continued stream (dispatch's mid-stream recovery) arrives as more chunks of the same answer: nothing to do here.
 */
export class MessagesTranslator implements AnswerTranslator {
  private started = false;
  private open: { kind: 'thinking' | 'text' | 'tool'; tool?: number } | undefined;
  private index = -1;
  private stop: string | null = null;
  private usage: Json | undefined;
  private finished = false;

  answer(chat: Json): unknown {
    return chatToMessage(chat);
  }

  chunk(c: Json): string {
    let out = '';
    if (!this.started) {
      this.started = true;
      out += event('message_start', {
        message: {
          id: messageId(c.id),
          type: 'message',
          role: 'assistant',
          model: c.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      });
      out += event('ping', {});
    }
    if (c.usage !== undefined && c.usage !== null) this.usage = usageOf(c.usage);
    const first = firstChoice(c, 'delta');
    if (first === undefined) return out;
    const { choice, body: d } = first;
    if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '') {
      out += this.openBlock('thinking', undefined, { type: 'thinking', thinking: '', signature: '' });
      out += event('content_block_delta', {
        index: this.index,
        delta: { type: 'thinking_delta', thinking: d.reasoning_content },
      });
    }
    if (typeof d.content === 'string' && d.content !== '') {
      out += this.openBlock('text', undefined, { type: 'text', text: '' });
      out += event('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: d.content } });
    }
    for (const t of objectsIn(d.tool_calls)) {
      const i = typeof t.index === 'number' ? t.index : 0;
      const fn = (t.function ?? {}) as Json;
      if (this.open?.kind !== 'tool' || this.open.tool !== i) {
        out += this.openBlock('tool', i, {
          type: 'tool_use',
          id: typeof t.id === 'string' ? t.id : `toolu_${i}`,
          name: typeof fn.name === 'string' ? fn.name : '',
          input: {},
        });
      }
      if (typeof fn.arguments === 'string' && fn.arguments !== '') {
        out += event('content_block_delta', {
          index: this.index,
          delta: { type: 'input_json_delta', partial_json: fn.arguments },
        });
      }
    }
    if (choice.finish_reason !== undefined && choice.finish_reason !== null)
      this.stop = stopReason(choice.finish_reason);
    return out;
  }

  done(): string {
    if (this.finished) return '';
    this.finished = true;
    let out = this.closeBlock();
    const usage = this.usage ?? { output_tokens: 0 };
    out += event('message_delta', { delta: { stop_reason: this.stop ?? 'end_turn', stop_sequence: null }, usage });
    out += event('message_stop', {});
    return out;
  }

  error(err: Json): string {
    this.finished = true;
    const message = typeof err.message === 'string' ? err.message : 'The stream failed.';
    return anthropicErrorEvent(statusOfCode(err.code), message);
  }

  private openBlock(kind: 'thinking' | 'text' | 'tool', tool: number | undefined, block: Json): string {
    if (this.open !== undefined && this.open.kind === kind && (kind !== 'tool' || this.open.tool === tool)) return '';
    const out = this.closeBlock();
    this.index++;
    this.open = { kind, ...(tool === undefined ? {} : { tool }) };
    return out + event('content_block_start', { index: this.index, content_block: block });
  }

  private closeBlock(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return event('content_block_stop', { index: this.index });
  }
}
