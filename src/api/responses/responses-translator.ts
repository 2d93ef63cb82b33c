import { randomBytes } from 'node:crypto';
import { firstChoice, objectsIn, type AnswerTranslator } from '../translating-response.ts';
import type { StoredResponse } from './response-store.ts';
import type { ResponsesTurn } from './responses-request.ts';
import { answerMessage } from './responses-native.ts';

type Json = Record<string, unknown>;

interface Call {
  id: string;
  callId: string;
  name: string;
  args: string;
}

/** What the answer said so far, in the order its parts came: built up from chat chunks or a whole completion. */
interface Said {
  reasoning: string;
  text: string;
  calls: Call[];
  finish: string | null;
  usage: Json | undefined;
  model: unknown;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function usageOf(u: Json | undefined): Json | null {
  if (u === undefined) return null;
  const input = num(u.prompt_tokens);
  const output = num(u.completion_tokens);
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: num(u.prompt_cache_hit_tokens ?? (u.prompt_tokens_details as Json | undefined)?.cached_tokens),
    },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: num((u.completion_tokens_details as Json | undefined)?.reasoning_tokens),
    },
    total_tokens: num(u.total_tokens) || input + output,
  };
}

/**
 * Translates one Responses answer, and stores it (unless `store: false`) for `GET /v1/responses/{id}` and the next
 * turn's `previous_response_id`. A stream is translated chunk by chunk:
 *
 *   first chunk ─▶ response.created, response.in_progress
 *   reasoning_content ─▶ a reasoning item (reasoning_summary_text.delta) │ content ─▶ a message item (output_text.delta)
 *   tool_calls[i] ─▶ a function_call item (function_call_arguments.delta)
 *   a change of kind closes the open item (its *.done events, output_item.done) and opens the next (output_item.added)
 *   [DONE] ─▶ response.completed (response.incomplete when max_output_tokens cut it), with the whole response
 *
 * Every event carries a `sequence_number`; item ids are the same in the events and in the final response.
 *
 * An answer passed through from an upstream that serves the Responses API (responses-native.ts) goes out as the
 * upstream wrote it, except its response objects: they get Spillway's id (ids are the gateway's, whichever route
 * answered, so `GET /v1/responses/{id}` finds them), the public model, and the client's `previous_response_id` and
 * `store` (the upstream saw a stateless request). The completed one is stored like a translated answer.
 */
export class ResponsesTranslator implements AnswerTranslator {
  private readonly asked: Json;
  private readonly turn: ResponsesTurn;
  private readonly save: (r: StoredResponse) => void;
  private readonly id: string;
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly said: Said = {
    reasoning: '',
    text: '',
    calls: [],
    finish: null,
    usage: undefined,
    model: undefined,
  };
  private seq = 0;
  private started = false;
  private finished = false;
  private open: { kind: 'reasoning' | 'message' | 'call'; index: number; call?: number } | undefined;
  private outputIndex = -1;
  /** Output index of each part, in the order they were opened (the final response lists them in this order). */
  private readonly order: { kind: 'reasoning' | 'message' | 'call'; call?: number }[] = [];

  constructor(asked: Json, turn: ResponsesTurn, save: (r: StoredResponse) => void) {
    this.asked = asked;
    this.turn = turn;
    this.save = save;
    this.id = `resp_${randomBytes(12).toString('hex')}`;
  }

  answer(chat: Json): unknown {
    const first = firstChoice(chat, 'message');
    const choice = first?.choice ?? {};
    const m = first?.body ?? {};
    this.said.model = chat.model;
    this.said.usage = chat.usage as Json | undefined;
    this.said.finish = typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop';
    if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') {
      this.said.reasoning = m.reasoning_content;
      this.order.push({ kind: 'reasoning' });
    }
    if (typeof m.content === 'string' && m.content !== '') {
      this.said.text = m.content;
      this.order.push({ kind: 'message' });
    }
    for (const t of objectsIn(m.tool_calls)) {
      const fn = (t.function ?? {}) as Json;
      this.said.calls.push({
        id: this.itemId('fc', this.said.calls.length),
        callId: typeof t.id === 'string' ? t.id : `call_${this.said.calls.length}`,
        name: typeof fn.name === 'string' ? fn.name : '',
        args: typeof fn.arguments === 'string' ? fn.arguments : '',
      });
      this.order.push({ kind: 'call', call: this.said.calls.length - 1 });
    }
    return this.finalResponse();
  }

  chunk(c: Json): string {
    let out = '';
    if (!this.started) {
      this.started = true;
      this.said.model = c.model;
      const r = this.response('in_progress', []);
      out += this.event('response.created', { response: r });
      out += this.event('response.in_progress', { response: r });
    }
    if (c.usage !== undefined && c.usage !== null) this.said.usage = c.usage as Json;
    const first = firstChoice(c, 'delta');
    if (first === undefined) return out;
    const { choice, body: d } = first;
    if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '') {
      out += this.openItem('reasoning');
      this.said.reasoning += d.reasoning_content;
      out += this.event('response.reasoning_summary_text.delta', {
        item_id: this.itemId('rs', 0),
        output_index: this.outputIndex,
        summary_index: 0,
        delta: d.reasoning_content,
      });
    }
    if (typeof d.content === 'string' && d.content !== '') {
      out += this.openItem('message');
      this.said.text += d.content;
      out += this.event('response.output_text.delta', {
        item_id: this.itemId('msg', 0),
        output_index: this.outputIndex,
        content_index: 0,
        delta: d.content,
        logprobs: [],
      });
    }
    for (const t of objectsIn(d.tool_calls)) {
      const i = typeof t.index === 'number' ? t.index : 0;
      const fn = (t.function ?? {}) as Json;
      if (this.open?.kind !== 'call' || this.open.call !== i) {
        while (this.said.calls.length <= i)
          this.said.calls.push({ id: this.itemId('fc', this.said.calls.length), callId: '', name: '', args: '' });
        const call = this.said.calls[i] as Call;
        if (typeof t.id === 'string') call.callId = t.id;
        if (typeof fn.name === 'string') call.name = fn.name;
        out += this.openItem('call', i);
      }
      const call = this.said.calls[i] as Call;
      if (typeof fn.arguments === 'string' && fn.arguments !== '') {
        call.args += fn.arguments;
        out += this.event('response.function_call_arguments.delta', {
          item_id: call.id,
          output_index: this.outputIndex,
          delta: fn.arguments,
        });
      }
    }
    if (typeof choice.finish_reason === 'string') this.said.finish = choice.finish_reason;
    return out;
  }

  done(): string {
    if (this.finished) return '';
    this.finished = true;
    let out = this.closeItem();
    const r = this.finalResponse();
    out += this.event(r.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: r });
    return out;
  }

  passedEvent(ev: string, data: Json): string {
    if (typeof data.sequence_number === 'number' && data.sequence_number >= this.seq)
      this.seq = data.sequence_number + 1;
    const r = data.response;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return `${ev}\n\n`;
    const response = this.passedResponse(
      r as Json,
      data.type === 'response.completed' || data.type === 'response.incomplete',
    );
    if (data.type === 'response.completed' || data.type === 'response.incomplete') this.finished = true;
    const lines = ev.split('\n').filter((l) => !l.startsWith('data:'));
    return `${[...lines, `data: ${JSON.stringify({ ...data, response })}`].join('\n')}\n\n`;
  }

  passedAnswer(answer: Json): Json {
    return answer.object === 'response' ? this.passedResponse(answer, true) : answer;
  }

  /** A passed-through response object as the client gets it; stored when it is the whole answer. */
  private passedResponse(r: Json, whole: boolean): Json {
    const a = this.asked;
    const out: Json = {
      ...r,
      id: this.id,
      model: a.model,
      previous_response_id: this.turn.previousId ?? null,
      store: a.store !== false,
    };
    if (whole && a.store !== false)
      this.save({ response: out, messages: [...this.turn.history, answerMessage(out)], instructions: a.instructions });
    return out;
  }

  error(err: Json): string {
    this.finished = true;
    const message = typeof err.message === 'string' ? err.message : 'The stream failed.';
    return this.event('error', {
      code: typeof err.code === 'string' ? err.code : 'stream_interrupted',
      message,
      param: err.param ?? null,
    });
  }

  private event(type: string, data: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...data })}\n\n`;
  }

  private itemId(prefix: string, n: number): string {
    return `${prefix}_${this.id.slice(5)}_${n}`;
  }

  private openItem(kind: 'reasoning' | 'message' | 'call', call?: number): string {
    if (this.open !== undefined && this.open.kind === kind && this.open.call === call) return '';
    let out = this.closeItem();
    this.outputIndex++;
    this.open = { kind, index: this.outputIndex, ...(call === undefined ? {} : { call }) };
    this.order.push({ kind, ...(call === undefined ? {} : { call }) });
    const item = this.item(kind, call, 'in_progress');
    out += this.event('response.output_item.added', { output_index: this.outputIndex, item });
    if (kind === 'message')
      out += this.event('response.content_part.added', {
        item_id: item.id,
        output_index: this.outputIndex,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      });
    if (kind === 'reasoning')
      out += this.event('response.reasoning_summary_part.added', {
        item_id: item.id,
        output_index: this.outputIndex,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    return out;
  }

  private closeItem(): string {
    const o = this.open;
    if (o === undefined) return '';
    this.open = undefined;
    const item = this.item(o.kind, o.call, 'completed');
    const at = { item_id: item.id, output_index: o.index };
    let out = '';
    if (o.kind === 'message') {
      out += this.event('response.output_text.done', { ...at, content_index: 0, text: this.said.text, logprobs: [] });
      out += this.event('response.content_part.done', {
        ...at,
        content_index: 0,
        part: { type: 'output_text', text: this.said.text, annotations: [], logprobs: [] },
      });
    } else if (o.kind === 'reasoning') {
      out += this.event('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: this.said.reasoning });
      out += this.event('response.reasoning_summary_part.done', {
        ...at,
        summary_index: 0,
        part: { type: 'summary_text', text: this.said.reasoning },
      });
    } else {
      const call = this.said.calls[o.call ?? 0] as Call;
      out += this.event('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.args });
    }
    return out + this.event('response.output_item.done', { output_index: o.index, item });
  }

  private item(
    kind: 'reasoning' | 'message' | 'call',
    call: number | undefined,
    status: 'in_progress' | 'completed',
  ): Json {
    const done = status === 'completed';
    if (kind === 'reasoning')
      return {
        type: 'reasoning',
        id: this.itemId('rs', 0),
        summary: done ? [{ type: 'summary_text', text: this.said.reasoning }] : [],
      };
    if (kind === 'message') {
      return {
        type: 'message',
        id: this.itemId('msg', 0),
        status,
        role: 'assistant',
        content: done ? [{ type: 'output_text', text: this.said.text, annotations: [], logprobs: [] }] : [],
      };
    }
    const c = this.said.calls[call ?? 0] as Call;
    return { type: 'function_call', id: c.id, call_id: c.callId, name: c.name, arguments: done ? c.args : '', status };
  }

  private response(status: string, output: Json[]): Json {
    const a = this.asked;
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      error: null,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: a.instructions ?? null,
      max_output_tokens: a.max_output_tokens ?? null,
      model: this.said.model ?? a.model,
      output,
      parallel_tool_calls: a.parallel_tool_calls ?? true,
      previous_response_id: this.turn.previousId ?? null,
      reasoning: { effort: null, summary: null },
      store: a.store !== false,
      temperature: a.temperature ?? null,
      text: a.text ?? { format: { type: 'text' } },
      tool_choice: a.tool_choice ?? 'auto',
      tools: a.tools ?? [],
      top_p: a.top_p ?? null,
      truncation: 'disabled',
      usage: usageOf(this.said.usage),
      user: a.user ?? null,
      metadata: a.metadata ?? {},
    };
  }

  /** The whole response (every item completed); stored here, as the answer is complete. */
  private finalResponse(): Json {
    const output = this.order.map((p) => this.item(p.kind, p.call, 'completed'));
    const r = this.response(this.said.finish === 'length' ? 'incomplete' : 'completed', output);
    if (this.asked.store !== false) {
      const answer: Json = {
        role: 'assistant',
        content: this.said.text === '' && this.said.calls.length > 0 ? null : this.said.text,
      };
      if (this.said.reasoning !== '') answer.reasoning_content = this.said.reasoning;
      if (this.said.calls.length > 0)
        answer.tool_calls = this.said.calls.map((c) => ({
          id: c.callId,
          type: 'function',
          function: { name: c.name, arguments: c.args },
        }));
      this.save({ response: r, messages: [...this.turn.history, answer], instructions: this.asked.instructions });
    }
    return r;
  }
}
