import { StringDecoder } from 'node:string_decoder';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { SseEventSplitter } from './sse-events.ts';

/**
 * Reads an attempt's SSE body as batches of whole events (each without its trailing blank line). Every chunk feeds
 * the attempt's idle timer. Comment-only events (`: keep-alive`) and stray blank lines are keep-alives: counted on
 * the attempt's timer (never a first token), and passed on only when `forwardComments` (`server.sse_comments`).
 * Errors are the attempt's own (AttemptError) and propagate to the caller.
 */
export class SseReader {
  private readonly it: AsyncIterator<Buffer>;
  private readonly att: OpenAttempt;
  private readonly decoder = new StringDecoder('utf8');
  private readonly splitter = new SseEventSplitter();
  private readonly forwardComments: boolean;

  constructor(att: OpenAttempt, forwardComments: boolean) {
    this.att = att;
    this.forwardComments = forwardComments;
    this.it = att.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next non-empty batch of events, or null when the body ended. */
  async next(): Promise<string[] | null> {
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (err) {
        throw this.att.error(err);
      }
      if (r.done === true) return null;
      this.att.timer.activity();
      const text = this.splitter.push(this.decoder.write(r.value));
      if (text === '') continue;
      const events: string[] = [];
      const parts = text.split('\n\n');
      parts.pop(); // the splitter's text ends with a blank line: the last part is always empty, not a keep-alive
      for (const e of parts) {
        if (e === '' || isComment(e)) {
          this.att.timer.keepAlive();
          if (e === '' || !this.forwardComments) continue;
        }
        events.push(e);
      }
      if (events.length > 0) {
        this.att.timer.dataEvents(events.length);
        return events;
      }
    }
  }
}

/** An event made of comment lines only (the SSE spec's lines starting with a colon). */
function isComment(ev: string): boolean {
  if (ev.charCodeAt(0) !== 58 /* : */) return false;
  return !ev.includes('\n') || ev.split('\n').every((l) => l.charCodeAt(0) === 58);
}
