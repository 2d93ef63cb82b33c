import type { OutgoingHttpHeader, ServerResponse } from 'node:http';
import { SseEventSplitter, dataOf } from '../relay/sse-events.ts';

/**
 * How one door answers: the chat-completions answer the pipeline produced, turned into the door's protocol. A
 * translator belongs to one response, so a stream translator may keep state between chunks.
 */
export interface AnswerTranslator {
  /** A whole non-stream chat completion → the door's JSON answer. */
  answer(chat: Record<string, unknown>): unknown;
  /** One parsed chat chunk → the door's SSE events ('' for none). */
  chunk(chunk: Record<string, unknown>): string;
  /** The chat stream's `[DONE]` → the door's closing events. */
  done(): string;
  /** An in-band error the chat stream ended with (OpenAI's `{"error":{…}}` object) → the door's error event. */
  error(err: Record<string, unknown>): string;
  /**
   * An answer already in the door's protocol (passed through), as it goes to the client: one stream event (its data
   * parsed; returns the event's text) or a whole answer. Absent: it goes out as it came. The Responses door uses it
   * to give the answer Spillway's id and keep it in Spillway's store.
   */
  passedEvent?(ev: string, data: Record<string, unknown>): string;
  passedAnswer?(answer: Record<string, unknown>): Record<string, unknown>;
}

type HeaderValue = number | string | readonly string[];

/** The objects in `v` when it is an array (tool calls, parts): anything else in an upstream's answer is skipped. */
export function objectsIn(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v)
    ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x))
    : [];
}

/**
 * Choice 0 of a chat answer or chunk (the doors answer one choice), as an object with an object `message`/`delta`
 * (empty when absent): an upstream's odd shapes must not throw in a translator.
 */
export function firstChoice(
  chat: Record<string, unknown>,
  part: 'message' | 'delta',
): { choice: Record<string, unknown>; body: Record<string, unknown> } | undefined {
  const choices = Array.isArray(chat.choices) ? (chat.choices as unknown[]) : [];
  const choice = choices.find(
    (c): c is Record<string, unknown> =>
      c !== null && typeof c === 'object' && ((c as { index?: unknown }).index ?? 0) === 0,
  );
  if (choice === undefined) return undefined;
  const body = choice[part];
  return {
    choice,
    body: body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {},
  };
}

/**
 * The response the pipeline writes into for a request that came in by another door. Every stage between the api
 * stage and the relay (cache hits and coalesced answers, the attempt loop, continuation, the relay itself) writes
 * chat completions as it always does; this translates what they write on its way to the socket:
 *
 *   pipeline ─ chat JSON / chat SSE ─▶ TranslatingResponse ─ translator ─▶ door JSON / door SSE ─▶ socket
 *
 * It has the part of ServerResponse the pipeline uses (status, headers, write, end, destroy, the drain and close
 * events), like the cache's FlightResponse. A non-stream answer is held until its end (it is translated whole);
 * stream events pass one by one, so backpressure still reaches the upstream read. Anything that is neither a 200
 * chat answer nor a stream (an async job's 202) goes out unchanged. Errors before the headers are rendered on the
 * socket's own response in the door's shape (render-error.ts), not here.
 */
export class TranslatingResponse {
  private readonly res: ServerResponse;
  private readonly t: AnswerTranslator;
  private readonly held: (string | Buffer)[] = [];
  private readonly splitter = new SseEventSplitter();
  private ended = false;
  /** An answer in the door's own protocol (passed through from an upstream that speaks it) goes out as it is. */
  private passing = false;

  constructor(res: ServerResponse, translator: AnswerTranslator) {
    this.res = res;
    this.t = translator;
  }

  /**
   * Set by each attempt before it writes: on when its upstream answered in the door's protocol (the Messages API
   * passed through), off for a chat answer. Only the gateway's own in-band errors are still translated then.
   */
  passThrough(on: boolean): void {
    this.passing = on;
  }

  get statusCode(): number {
    return this.res.statusCode;
  }

  set statusCode(v: number) {
    this.res.statusCode = v;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get writableEnded(): boolean {
    return this.ended || this.res.writableEnded;
  }

  get writableFinished(): boolean {
    return this.res.writableFinished;
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }

  setHeader(name: string, value: HeaderValue): this {
    // The length is the translated body's, set at the end.
    if (name.toLowerCase() !== 'content-length') this.res.setHeader(name, value);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.res.getHeader(name);
  }

  hasHeader(name: string): boolean {
    return this.res.hasHeader(name);
  }

  removeHeader(name: string): void {
    this.res.removeHeader(name);
  }

  writeHead(status: number, headers?: Record<string, OutgoingHttpHeader>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) this.setHeader(k, v);
    if (this.streaming()) this.res.flushHeaders();
    return this;
  }

  flushHeaders(): void {
    if (this.streaming()) this.res.flushHeaders();
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    this.res.on(event, listener);
    return this;
  }

  once(event: string, listener: (...args: unknown[]) => void): this {
    this.res.once(event, listener);
    return this;
  }

  off(event: string, listener: (...args: unknown[]) => void): this {
    this.res.off(event, listener);
    return this;
  }

  write(chunk: string | Buffer): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.streaming()) {
      this.held.push(chunk);
      return true;
    }
    const out = this.translateEvents(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    return out === '' ? true : this.res.write(out);
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded || this.destroyed) return this;
    this.ended = true;
    if (this.streaming()) {
      const out =
        chunk === undefined ? '' : this.translateEvents(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      this.res.end(out);
      return this;
    }
    if (chunk !== undefined) this.held.push(chunk);
    const raw = Buffer.concat(this.held.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
    const body = this.statusCode !== 200 ? raw : this.passing ? this.passedAnswer(raw) : this.translateAnswer(raw);
    this.res.setHeader('content-length', body.length);
    this.res.end(body);
    return this;
  }

  destroy(): this {
    this.res.destroy();
    return this;
  }

  private streaming(): boolean {
    const type = this.res.getHeader('content-type');
    return typeof type === 'string' && type.startsWith('text/event-stream');
  }

  private translateAnswer(raw: Buffer): Buffer {
    const chat = objectOf(raw.toString('utf8'));
    if (chat === undefined) return raw; // answers are checked before they are written (relay/answer-check.ts)
    this.res.setHeader('content-type', 'application/json');
    return Buffer.from(JSON.stringify(this.t.answer(chat)), 'utf8');
  }

  private passedAnswer(raw: Buffer): Buffer {
    if (this.t.passedAnswer === undefined) return raw;
    const answer = objectOf(raw.toString('utf8'));
    return answer === undefined ? raw : Buffer.from(JSON.stringify(this.t.passedAnswer(answer)), 'utf8');
  }

  /** Whole chat SSE events → the door's events. Comments (`: keep-alive`, `: queued`) pass as they are. */
  private translateEvents(text: string): string {
    const events = this.splitter.push(text);
    if (events === '') return '';
    let out = '';
    for (const ev of events.split('\n\n')) {
      if (ev === '') continue;
      const data = dataOf(ev);
      if (data === undefined) {
        out += `${ev}\n\n`;
        continue;
      }
      if (this.passing && !data.startsWith('{"error"')) {
        const hook = this.t.passedEvent?.bind(this.t);
        const passed = hook === undefined ? undefined : objectOf(data);
        out += hook === undefined || passed === undefined ? `${ev}\n\n` : hook(ev, passed);
        continue;
      }
      if (data === '[DONE]') {
        out += this.t.done();
        continue;
      }
      // The relay passes only events the upstream sent whole; a broken one carries nothing to translate.
      const o = objectOf(data);
      if (o === undefined) continue;
      if (o.error !== undefined && o.choices === undefined)
        out += this.t.error((o.error ?? {}) as Record<string, unknown>);
      else out += this.t.chunk(o);
    }
    return out;
  }
}

/** The JSON object in `text`, or undefined when it is not one. */
function objectOf(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
