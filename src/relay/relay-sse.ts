import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.ts';
import type { SpillwayError } from '../errors.ts';
import { errorEvent } from '../api/render-error.ts';
import type { RequestContext } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { AttemptError } from '../upstream/open-attempt.ts';
import { classifyError } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { dataOf, eventInfo } from './sse-events.ts';
import type { SseBatch, SseReader } from './sse-reader.ts';
import type { StreamText } from './stream-text.ts';
import { mayCarryUsage, usageOf } from './usage.ts';

/**
 * A streamed answer, relayed in the batches the upstream sends, with backpressure: when the client reads slowly,
 * reading from the upstream pauses, so the gateway never buffers without bound.
 *
 * Two commit points. Headers (200, event-stream) go out with the first event passed on: the first data event, or,
 * with `server.sse_comments` on, the upstream's first `: keep-alive` comment (keeping intermediaries from timing
 * out, at the price of a failure before content being in-band rather than a clean HTTP error). Content commits with the first `data:` event: before
 * it (awaitFirstData) a failure goes back to the attempt loop, which may retry or hedge elsewhere and the client
 * sees one clean stream; after it (relayStream) the loop must continue the same answer or end the stream with an
 * in-band error. Neither function ends the response on failure: the loop decides.
 */
export interface StreamOptions {
  rewrite: ((t: string) => string) | undefined;
  /** Present when the model has mid-stream recovery: what reaches the client is recorded here. */
  track: StreamText | undefined;
  /** On a continuation: its role-only opening chunk is dropped and its id becomes the original answer's. */
  continuing: { id: string | undefined } | undefined;
}

export interface SseResult {
  outcome: Outcome;
  /** True once this attempt sent a data event. */
  contentSent: boolean;
}

export type FirstData = { ok: true; events: SseBatch } | { ok: false; outcome: Outcome };

/** Events held after a role-only opening chunk before they are let through anyway (bounds a hostile upstream). */
const MAX_HELD = 64;

/**
 * Reads until the first content, forwarding what the reader passes on. Resolves with the events from the first data
 * event on. A role-only opening chunk (`{"delta":{"role":"assistant","content":""}}`) is not content yet: it is
 * held, with whatever follows it, until content comes, so an upstream that dies right after it is still a clean
 * failure before the commit point (retried elsewhere) rather than a stream the client has begun.
 */
export async function awaitFirstData(ctx: RequestContext, reader: SseReader): Promise<FirstData> {
  const held: SseBatch[] = [];
  try {
    for (;;) {
      const batch = await reader.next();
      // A clean end with no content and no [DONE] is a blank 200, not an answer: retried, never relayed as one.
      if (batch === null)
        return { ok: false, outcome: { kind: 'invalid_answer', detail: 'stream ended before its first content' } };
      const { bytes, ascii } = batch;
      // Where in this batch the held events begin, while they all come from it (the usual case: the opening chunk
      // and the content after it in one read): they are then passed on as one view of the batch, not copied.
      let heldFrom = -1;
      for (let at = 0; at < bytes.length;) {
        const end = ascii.indexOf(BLANK, at);
        const ev = bytes.toString('utf8', at, end);
        const info = eventInfo(ev);
        // An error before any content: nothing of it reaches the client, so the loop may still retry.
        if (info.error) return { ok: false, outcome: { kind: 'server_error', status: 200 } };
        if (held.length > 0) {
          if ((info.data && !isRoleOnly(ev)) || held.length >= MAX_HELD)
            return { ok: true, events: heldFrom >= 0 ? slice(batch, heldFrom) : joined([...held, slice(batch, at)]) };
          held.push(slice(batch, at, end + 2));
        } else if (info.data) {
          await write(ctx, bytes.subarray(0, at)); // the comments before it (none unless forwarded)
          if (info.done || !isRoleOnly(ev)) return { ok: true, events: at === 0 ? batch : slice(batch, at) };
          held.push(slice(batch, at, end + 2));
          heldFrom = at;
        }
        at = end + 2;
      }
      if (held.length === 0) await write(ctx, bytes);
    }
  } catch (err) {
    return { ok: false, outcome: streamFailure(ctx, err, false) };
  }
}

function slice(b: SseBatch, from: number, to = b.bytes.length): SseBatch {
  return { bytes: b.bytes.subarray(from, to), ascii: b.ascii.slice(from, to) };
}

function joined(bs: SseBatch[]): SseBatch {
  return { bytes: Buffer.concat(bs.map((b) => b.bytes)), ascii: bs.map((b) => b.ascii).join('') };
}

/**
 * Relays from the first data event to the end, by bytes: a batch's events go out as the upstream sent them (one
 * socket write per batch: Node corks a response until the next tick), and only the events that matter to the
 * gateway are decoded — an error, `[DONE]`, the usage — found
 * by searching for their markers. Events are decoded and transformed one by one only where they change on their
 * way (the `model` renamed, a continuation re-identified, the text recorded for recovery).
 */
export async function relayStream(
  ctx: RequestContext,
  reader: SseReader,
  att: OpenAttempt,
  first: SseBatch,
  opts: StreamOptions,
  clock: Clock,
): Promise<SseResult> {
  // The first batch opens with the answer's first data event: the commit point.
  const contentSent = first.bytes.length > 0;
  if (contentSent) {
    att.timer.firstToken();
    ctx.ttftMs ??= clock.now() - ctx.startedAt;
  }
  const eventByEvent = opts.rewrite !== undefined || opts.track !== undefined || opts.continuing !== undefined;
  let batch: SseBatch | null = first;
  try {
    while (batch !== null) {
      const { bytes, ascii } = batch;
      // What goes out: runs of the upstream's bytes left as they are (`kept` is where the current run starts), and
      // the events the relay changed. In the common case that is one view of the whole batch: one write.
      const out: (Buffer | string)[] = [];
      let kept = 0;
      const cut = (at: number): void => {
        if (at > kept) out.push(kept === 0 && at === bytes.length ? bytes : bytes.subarray(kept, at));
      };
      let from = 0;
      while (from < bytes.length) {
        const mark = eventByEvent ? from : nextMarker(ascii, from, ctx.usage === undefined);
        if (mark < 0) break;
        const start = mark === from ? from : eventStart(ascii, mark, from);
        const end = ascii.indexOf(BLANK, mark);
        from = end + 2;
        const ev = bytes.toString('utf8', start, end);
        const info = eventInfo(ev);
        if (info.error)
          return {
            outcome: { kind: 'server_error', status: 200 },
            contentSent: contentSent || opts.continuing !== undefined,
          };
        if (info.done) {
          cut(from);
          await write(ctx, out);
          ctx.res.end();
          await drainRest(reader);
          return { outcome: { kind: 'ok' }, contentSent: true };
        }
        if (!info.data) continue;
        const text = transform(ev, opts);
        if (text !== undefined && ctx.usage === undefined && mayCarryUsage(text)) ctx.usage = usageOfEvent(text);
        if (text === ev) continue; // unchanged: stays in the run of original bytes
        cut(start);
        if (text !== undefined) out.push(`${text}\n\n`);
        kept = from;
      }
      cut(bytes.length);
      await write(ctx, out);
      batch = await reader.next();
    }
  } catch (err) {
    return { outcome: streamFailure(ctx, err, true), contentSent: contentSent || opts.continuing !== undefined };
  }
  if (ctx.clientGone.aborted) return { outcome: { kind: 'cancelled' }, contentSent };
  return {
    outcome: { kind: 'reset', afterFirstByte: true, detail: 'stream ended without [DONE]' },
    contentSent: contentSent || opts.continuing !== undefined,
  };
}

const BLANK = '\n\n';
/**
 * The markers of the events the gateway must read: an `"error"` key, `[DONE]`, and (while no usage is known) a
 * `"usage":{` object (OpenAI's `"usage":null` on every chunk is not one). One regular expression finds the first
 * of them in one pass — several times quicker than an indexOf per marker over the same text.
 */
const MARKERS = /"error"|\[DONE\]|"usage"[ \t\r\n]*:[ \t\r\n]*\{/g;
const MARKERS_NO_USAGE = /"error"|\[DONE\]/g;

/**
 * Where, from `from`, the first event the gateway must read shows its marker; -1 when none. A false alarm (text
 * that only looks like one) costs that event a decode, never a wrong answer: the event is then read in full.
 */
function nextMarker(batch: string, from: number, wantUsage: boolean): number {
  const re = wantUsage ? MARKERS : MARKERS_NO_USAGE;
  re.lastIndex = from;
  return re.exec(batch)?.index ?? -1;
}

/** The start of the event holding byte `at` (events end in a blank line; `from` is an event's start). */
function eventStart(batch: string, at: number, from: number): number {
  const k = batch.lastIndexOf(BLANK, at - 1);
  return k < 0 || k + 2 < from ? from : k + 2;
}

/** Batches read after [DONE] before the body is given up on (an upstream ends its body right after it). */
const MAX_AFTER_DONE = 4;

/**
 * Reads the body to its end after [DONE]: an upstream body given up unfinished costs its connection (undici closes
 * the socket), and the next request would pay for a new one.
 */
async function drainRest(reader: SseReader): Promise<void> {
  try {
    for (let i = 0; i < MAX_AFTER_DONE; i++) if ((await reader.next()) === null) return;
  } catch {
    // The answer is complete and delivered; what the upstream does after [DONE] does not matter.
  }
}

/** One data event on its way to the client: renamed, re-identified on a continuation, and recorded. */
function transform(ev: string, opts: StreamOptions): string | undefined {
  let text = opts.rewrite === undefined ? ev : opts.rewrite(ev);
  if (opts.continuing !== undefined) {
    if (isRoleOnly(text)) return undefined;
    const id = opts.continuing.id;
    if (id !== undefined)
      text = text.replace(/"id"(\s*):(\s*)"[^"]*"/, (_m, a: string, b: string) => `"id"${a}:${b}${JSON.stringify(id)}`);
  }
  if (opts.track !== undefined) {
    const data = dataOf(text);
    if (data !== undefined) opts.track.record(data);
  }
  return text;
}

/** The opening chunk of an answer: a delta with the role and no content. A continuation must not repeat it. */
function isRoleOnly(ev: string): boolean {
  if (!ev.includes('"role"')) return false;
  try {
    const d = (JSON.parse(dataOf(ev) ?? '') as { choices?: { delta?: Record<string, unknown> }[] }).choices?.[0]?.delta;
    return (
      d !== undefined &&
      (d.content === '' || d.content === undefined || d.content === null) &&
      d.tool_calls === undefined &&
      d.reasoning_content === undefined
    );
  } catch {
    return false;
  }
}

/** A thrown error while reading a stream → its outcome (the client leaving is `cancelled`). */
export function streamFailure(ctx: RequestContext, err: unknown, afterFirstByte: boolean): Outcome {
  const e = err instanceof AttemptError ? err : new AttemptError(err, undefined, ctx.clientGone.aborted);
  return classifyError(e.cause, {
    afterFirstByte,
    timeoutPhase: e.timeoutPhase,
    clientGone: e.clientGone || ctx.clientGone.aborted,
    queuedUpstream: e.queuedUpstream,
  });
}

/**
 * Writes a batch's pieces (views of the upstream's bytes, and events the relay rewrote; the stream's headers go
 * with the first). Node corks the socket until the next tick after a response's first write, so the pieces and an
 * `end()` in the same tick leave in one writev — an explicit cork/uncork here would flush early and cost a syscall.
 * Waits when the client reads slowly.
 */
async function write(ctx: RequestContext, out: Buffer | (Buffer | string)[]): Promise<void> {
  const res = ctx.res;
  if (res.writableEnded) return;
  if (Buffer.isBuffer(out)) {
    if (out.length === 0) return;
    startStream(ctx, false);
    if (!res.write(out)) await drained(res);
    return;
  }
  if (out.length === 0) return;
  startStream(ctx, false);
  let ok = true;
  for (const piece of out) ok = res.write(piece);
  if (!ok) await drained(res);
}

/** Writes whole events given as text (the Messages relay), sending the stream's headers with them. */
export function writeEvents(ctx: RequestContext, text: string): Promise<void> {
  return write(ctx, text === '' ? [] : [text]);
}

/**
 * Sets the stream's status and headers once (later calls do nothing) and sends them now, or, with `flush` false,
 * with the first write that follows at once (one syscall fewer per stream).
 */
export function startStream(ctx: RequestContext, flush = true): void {
  const res = ctx.res;
  if (res.headersSent) return;
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  if (flush) res.flushHeaders();
  ctx.settled = true;
}

/** Ends a stream whose headers are out with the in-band error event the SDKs raise; never a clean end. */
export function endStreamWithError(ctx: RequestContext, e: SpillwayError): void {
  ctx.errorCode = e.code;
  if (!ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.end(errorEvent(e));
}

function usageOfEvent(ev: string): ReturnType<typeof usageOf> {
  const data = dataOf(ev);
  if (data === undefined) return undefined;
  try {
    return usageOf(JSON.parse(data));
  } catch {
    return undefined;
  }
}

/** Resolves when the client can take more, or when it is gone (the caller's abort ends the loop then). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
