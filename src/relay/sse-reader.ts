import { StringDecoder } from 'node:string_decoder';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { SseEventSplitter } from './sse-events.ts';

/**
 * Reads an attempt's SSE body as batches of whole events (each without its trailing blank line). Every chunk feeds
 * the attempt's idle timer. Errors are the attempt's own (AttemptError) and propagate to the caller.
 */
export class SseReader {
  private readonly it: AsyncIterator<Buffer>;
  private readonly att: OpenAttempt;
  private readonly decoder = new StringDecoder('utf8');
  private readonly splitter = new SseEventSplitter();

  constructor(att: OpenAttempt) {
    this.att = att;
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
      const events = text.split('\n\n').filter((e) => e !== '');
      if (events.length > 0) return events;
    }
  }
}
