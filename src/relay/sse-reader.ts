import { StringDecoder } from 'node:string_decoder';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { SseEventSplitter } from './sse-events.ts';

/** Whole events (each ending in a blank line) as the upstream sent them. */
export interface SseBatch {
  readonly bytes: Buffer;
  /** The same bytes as latin1 text (offsets are byte offsets), to search for ASCII markers. */
  readonly ascii: string;
}

/**
 * Reads an attempt's SSE body as batches of whole events: each batch is the bytes of one or more complete events,
 * each ending in its blank line, as the upstream sent them. Every chunk feeds the attempt's idle timer. Comment-only
 * events (`: keep-alive`) and stray blank lines are keep-alives: counted on the attempt's timer (never a first
 * token), and passed on only when `forwardComments` (`server.sse_comments`). Errors are the attempt's own
 * (AttemptError) and propagate to the caller.
 *
 * By bytes: a chunk is cut after its last blank line and the complete part is passed on as it is (a view of the
 * chunk, no copy, no decoding) unless it holds something to take out or count — a comment line, a blank event —
 * or a carriage return (CRLF line ends are normalised to LF, so the text path takes over for good). Only then is
 * the text decoded and split into events. The cut falls on an ASCII newline, so no UTF-8 character is ever split.
 */
/**
 * The largest SSE event held while waiting for its end. A chat chunk is a few hundred bytes and a whole answer in one
 * event rarely a megabyte; past this the upstream is not sending events at all.
 */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

export class SseReader {
  private readonly att: OpenAttempt;
  private readonly forwardComments: boolean;
  /** Bytes of an event not complete yet (byte mode). */
  private pending: Buffer | undefined;
  /** Set once a carriage return was seen: the rest of the stream is read as text. */
  private text: { decoder: StringDecoder; splitter: SseEventSplitter } | undefined;

  constructor(att: OpenAttempt, forwardComments: boolean) {
    this.att = att;
    this.forwardComments = forwardComments;
  }

  /** The next non-empty batch of whole events (each ending in a blank line), or null when the body ended. */
  async next(): Promise<SseBatch | null> {
    for (;;) {
      let chunk: Buffer | null;
      try {
        chunk = await this.att.body.read();
      } catch (err) {
        throw this.att.error(err);
      }
      if (chunk === null) return null;
      this.att.timer.activity();
      const batch = this.text === undefined ? this.fromBytes(chunk) : this.fromText(chunk);
      // An upstream that never ends an event would otherwise grow this buffer (and its copies) without bound.
      if (this.heldBytes() > MAX_EVENT_BYTES)
        throw this.att.error(new Error(`an SSE event over ${MAX_EVENT_BYTES} bytes`));
      if (batch !== undefined) {
        this.att.timer.dataEvents(eventCount(batch.ascii));
        return batch;
      }
    }
  }

  /** Bytes (or, in text mode, characters) of the event not complete yet. */
  private heldBytes(): number {
    return this.text === undefined ? (this.pending?.length ?? 0) : this.text.splitter.rest().length;
  }

  private fromBytes(chunk: Buffer): SseBatch | undefined {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    // Searched as latin1 text: one byte per character, so offsets match, and every marker looked for is ASCII
    // (no byte of a multi-byte UTF-8 character is below 0x80). V8's string search is far quicker than Buffer's.
    const ascii = data.toString('latin1');
    if (ascii.includes('\r')) {
      this.text = { decoder: new StringDecoder('utf8'), splitter: new SseEventSplitter() };
      this.pending = undefined;
      return this.fromText(data);
    }
    const end = ascii.lastIndexOf(BLANK);
    if (end < 0) {
      this.pending = data;
      return undefined;
    }
    const cut = end + 2;
    this.pending = cut < data.length ? data.subarray(cut) : undefined;
    // Anything to count or take out: a comment line, a blank event (a line break opening the batch or an event).
    const c0 = ascii.charCodeAt(0);
    const nlColon = ascii.indexOf(NL_COLON);
    const blankLine = ascii.indexOf(BLANK_LINE);
    if (c0 === COLON || c0 === LF || (nlColon >= 0 && nlColon + 1 < cut) || (blankLine >= 0 && blankLine + 2 < cut)) {
      return this.keptEvents(data.toString('utf8', 0, cut));
    }
    return cut === data.length ? { bytes: data, ascii } : { bytes: data.subarray(0, cut), ascii: ascii.slice(0, cut) };
  }

  private fromText(chunk: Buffer): SseBatch | undefined {
    const t = this.text as { decoder: StringDecoder; splitter: SseEventSplitter };
    const text = t.splitter.push(t.decoder.write(chunk));
    return text === '' ? undefined : this.keptEvents(text);
  }

  /**
   * The events of `text` (whole events, LF line ends) that go on: keep-alives counted, and dropped unless forwarded;
   * stray blank lines dropped, wherever the upstream's chunks were cut.
   */
  private keptEvents(text: string): SseBatch | undefined {
    let out = '';
    const parts = text.split('\n\n');
    parts.pop(); // the text ends with a blank line: the last part is always empty, not a keep-alive
    for (let e of parts) {
      // Blank lines before an event are no part of it (the text ends in "\n\n\n" when the upstream added one).
      while (e.charCodeAt(0) === LF) e = e.slice(1);
      if (e === '' || isComment(e)) {
        this.att.timer.keepAlive();
        if (e === '' || !this.forwardComments) continue;
      }
      out += `${e}\n\n`;
    }
    if (out === '') return undefined;
    const bytes = Buffer.from(out, 'utf8');
    return { bytes, ascii: bytes.toString('latin1') };
  }
}

/** How many events a batch holds: each ends in exactly one blank line (stray ones were taken out). */
function eventCount(ascii: string): number {
  let n = 0;
  for (let i = ascii.indexOf(BLANK); i >= 0; i = ascii.indexOf(BLANK, i + 2)) n++;
  return n;
}

/** Splits a batch into its events (each without its blank line). */
export function eventsOf(batch: SseBatch): string[] {
  const parts = batch.bytes.toString('utf8').split('\n\n');
  parts.pop();
  return parts;
}

const LF = 10;
const COLON = 58;
const BLANK = '\n\n';
const BLANK_LINE = '\n\n\n';
const NL_COLON = '\n:';

/** An event made of comment lines only (the SSE spec's lines starting with a colon). */
function isComment(ev: string): boolean {
  if (ev.charCodeAt(0) !== COLON) return false;
  return !ev.includes('\n') || ev.split('\n').every((l) => l.charCodeAt(0) === COLON);
}
