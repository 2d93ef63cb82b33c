import type { ServerResponse } from 'node:http';
import { errorJson, type MockError } from './openai-error.ts';
import type { Timed } from './pacing.ts';

/** How an answer stops: normally, by dropping the connection, or by going silent forever (until the client leaves). */
export type Ending = 'end' | 'reset' | 'stall';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };
const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8' };

/**
 * Writes one successful (200) answer over time. It owns the response's only timer, so stopping on client abort is
 * one call, and it remembers whether headers went out (queue keep-alives send them early, after which a failure
 * must be reported in-band rather than as a status).
 */
export class Reply {
  private readonly res: ServerResponse;
  private readonly stream: boolean;
  private readonly extraHeaders: Record<string, string>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ending: Ending | undefined;
  /** Set by detach(): the client is gone, generation goes on without writing, then this runs. */
  private onDetachedEnd: (() => void) | undefined;
  /** True once the mock itself dropped the connection (a reset fault): the close that follows is not an abort. */
  selfDestroyed = false;
  /** The wrong-content-type fault: the 200 is an HTML page, whatever the request asked for. */
  html = false;

  constructor(res: ServerResponse, stream: boolean, extraHeaders: Record<string, string>) {
    this.res = res;
    this.stream = stream;
    this.extraHeaders = extraHeaders;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  /** Sends 200 headers now. Non-stream answers give a content-length when the whole size is known up front. */
  sendHeaders(contentLength?: number): void {
    if (this.res.headersSent) return;
    const headers: Record<string, string | number> = { ...this.extraHeaders, ...this.contentHeaders };
    if (contentLength !== undefined && !this.stream) headers['content-length'] = contentLength;
    this.res.writeHead(200, headers);
    this.res.flushHeaders();
  }

  private get contentHeaders(): Record<string, string> {
    return this.html ? HTML_HEADERS : this.stream ? SSE_HEADERS : JSON_HEADERS;
  }

  /**
   * The keep-alive-forever fault: 200 headers, then a keep-alive line every `intervalMs`, never an answer, until
   * the client (or close()) ends it. Like a stall, it cannot be detached: it would never end.
   */
  holdForever(intervalMs: number): void {
    this.ending = 'stall';
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopped) return;
      this.keepAlive();
      this.timer = setTimeout(tick, intervalMs);
    };
    tick();
  }

  /** One keep-alive while waiting: "\n" for JSON (still valid JSON once the body follows), an SSE comment for streams. */
  keepAlive(): void {
    if (this.stopped) return;
    this.sendHeaders();
    this.res.write(this.keepAliveLine);
  }

  get keepAliveLine(): string {
    return this.stream ? ': keep-alive\n\n' : '\n';
  }

  /**
   * Writes the steps, waiting each step's delay; steps with no delay go out in the same write. With no delays at
   * all this is a single synchronous res.end() — the benchmark fast path. Each step is due at its planned time from
   * the start, not its delay after the previous write: timers fire late on a busy machine, and chained delays would
   * add that lateness up (a 32-token answer ~10% slower), making the simulated server slower than its declared pace
   * and the storm bench's best-possible column (which trusts that pace) unreachable. Steps that fell due while the
   * process was busy go out together, as a real server's would.
   */
  play(steps: readonly Timed[], ending: Ending, contentLength: number | undefined, onGone: () => void): void {
    let i = 0;
    this.ending = ending;
    let due = performance.now();
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopped) return;
      const now = performance.now();
      let chunk = '';
      do {
        chunk += (steps[i++] as Timed).data;
        if (i < steps.length) due += (steps[i] as Timed).delayMs;
      } while (i < steps.length && due <= now);
      if (i < steps.length) {
        if (this.onDetachedEnd === undefined) {
          this.sendHeaders(contentLength);
          this.res.write(chunk);
        }
        this.timer = setTimeout(tick, Math.max(1, due - performance.now()));
        return;
      }
      this.finish(chunk, ending, contentLength, onGone);
    };
    const first = steps[0];
    if (first === undefined) return this.finish('', ending, contentLength, onGone);
    due += first.delayMs;
    if (first.delayMs > 0) this.timer = setTimeout(tick, first.delayMs);
    else tick();
  }

  /**
   * The client left mid-answer but the simulated server keeps generating (continueAfterAbort): the remaining
   * steps run on their timers without writing, and at the end `onEnd` runs (then `onGone` for an answer that
   * would have ended normally). False when nothing is left to generate, or the answer would never end (a stall).
   */
  detach(onEnd: () => void): boolean {
    if (this.stopped || this.timer === undefined || this.ending === 'stall') return false;
    this.onDetachedEnd = onEnd;
    return true;
  }

  private finish(chunk: string, ending: Ending, contentLength: number | undefined, onGone: () => void): void {
    this.ending = undefined;
    const detachedEnd = this.onDetachedEnd;
    if (detachedEnd !== undefined) {
      // Released first, so whoever hears about the wasted answer sees its slot already free.
      detachedEnd();
      if (ending === 'end') onGone();
      return;
    }
    if (ending === 'end') {
      if (this.res.socket === null || this.res.socket.destroyed) onGone();
      if (!this.res.headersSent) {
        const headers: Record<string, string | number> = { ...this.extraHeaders, ...this.contentHeaders };
        if (!this.stream) headers['content-length'] = contentLength ?? Buffer.byteLength(chunk);
        this.res.writeHead(200, headers);
      }
      this.res.end(chunk);
      return;
    }
    this.sendHeaders(contentLength);
    if (chunk !== '') this.res.write(chunk);
    if (ending === 'reset') {
      this.selfDestroyed = true;
      // destroySoon flushes what was written, then closes: the client reliably gets the partial answer, then EOF.
      this.res.socket?.destroySoon();
    }
    // 'stall': nothing more is written; the response stays open until the client or close() ends it.
  }

  /** Ends a response whose 200 headers are already out with an error the official SDKs raise. */
  failInBand(e: MockError): void {
    if (this.stopped) return;
    this.stop();
    const json = errorJson(this.res, e);
    // On the Messages API an in-band error is its own event type, which the Anthropic SDKs raise.
    const event = json.startsWith('{"type":"error"') ? `event: error\ndata: ${json}\n\n` : `data: ${json}\n\n`;
    this.res.end(this.stream ? event : json);
  }

  /** Clears the pending timer; nothing more is written. Safe to call more than once. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
