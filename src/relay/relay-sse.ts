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
import type { SseReader } from './sse-reader.ts';
import type { StreamText } from './stream-text.ts';
import { mayCarryUsage, usageOf } from './usage.ts';

/**
 * A streamed answer, relayed event by event with backpressure: when the client reads slowly, reading from the
 * upstream pauses, so the gateway never buffers without bound.
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

export type FirstData = { ok: true; events: string[] } | { ok: false; outcome: Outcome };

/** Events held after a role-only opening chunk before they are let through anyway (bounds a hostile upstream). */
const MAX_HELD = 64;

/**
 * Reads until the first content, forwarding what the reader passes on. Resolves with the events from the first
 * data event on. A role-only opening chunk (`{"delta":{"role":"assistant","content":""}}`) is not content yet: it
 * is held, with whatever follows it, until content comes, so an upstream that dies right after it is still a clean
 * failure before the commit point (retried elsewhere) rather than a stream the client has begun.
 */
export async function awaitFirstData(ctx: RequestContext, reader: SseReader): Promise<FirstData> {
  const held: string[] = [];
  try {
    for (;;) {
      const batch = await reader.next();
      // A clean end with no content and no [DONE] is a blank 200, not an answer: retried, never relayed as one.
      if (batch === null) return { ok: false, outcome: { kind: 'invalid_answer', detail: 'stream ended before its first content' } };
      let comments = '';
      for (let k = 0; k < batch.length; k++) {
        const ev = batch[k] as string;
        const info = eventInfo(ev);
        // An error before any content: nothing of it reaches the client, so the loop may still retry.
        if (info.error) return { ok: false, outcome: { kind: 'server_error', status: 200 } };
        if (held.length > 0) {
          if ((info.data && !isRoleOnly(ev)) || held.length >= MAX_HELD) return { ok: true, events: [...held, ...batch.slice(k)] };
          held.push(ev);
          continue;
        }
        if (info.data) {
          await writeEvents(ctx, comments);
          comments = '';
          if (!info.done && isRoleOnly(ev)) {
            held.push(ev);
            continue;
          }
          return { ok: true, events: batch.slice(k) };
        }
        comments += `${ev}\n\n`;
      }
      await writeEvents(ctx, comments);
    }
  } catch (err) {
    return { ok: false, outcome: streamFailure(ctx, err, false) };
  }
}

/** Relays from the first data event to the end. */
export async function relayStream(ctx: RequestContext, reader: SseReader, att: OpenAttempt, first: string[], opts: StreamOptions, clock: Clock): Promise<SseResult> {
  let contentSent = false;
  let batch: string[] | null = first;
  try {
    while (batch !== null) {
      let out = '';
      for (const ev of batch) {
        const info = eventInfo(ev);
        if (info.error) return { outcome: { kind: 'server_error', status: 200 }, contentSent: contentSent || opts.continuing !== undefined };
        if (info.data && !contentSent) {
          contentSent = true;
          att.timer.firstToken();
          ctx.ttftMs ??= clock.now() - ctx.startedAt;
        }
        if (info.done) {
          await writeEvents(ctx, `${out}${ev}\n\n`);
          ctx.res.end();
          await drainRest(reader);
          return { outcome: { kind: 'ok' }, contentSent: true };
        }
        if (!info.data) {
          out += `${ev}\n\n`;
          continue;
        }
        const text = transform(ev, opts);
        if (text === undefined) continue;
        if (ctx.usage === undefined && mayCarryUsage(text)) ctx.usage = usageOfEvent(text);
        out += `${text}\n\n`;
      }
      await writeEvents(ctx, out);
      batch = await reader.next();
    }
  } catch (err) {
    return { outcome: streamFailure(ctx, err, true), contentSent: contentSent || opts.continuing !== undefined };
  }
  if (ctx.clientGone.aborted) return { outcome: { kind: 'cancelled' }, contentSent };
  return { outcome: { kind: 'reset', afterFirstByte: true, detail: 'stream ended without [DONE]' }, contentSent: contentSent || opts.continuing !== undefined };
}

/** Batches read after [DONE] before the body is given up on (an upstream ends its body right after it). */
const MAX_AFTER_DONE = 4;

/**
 * Reads the body to its end after [DONE]: destroying an unfinished undici body makes undici build an abort error
 * with a stack trace on every successful stream, a tenth of the gateway's CPU in the stream benchmark.
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
    if (id !== undefined) text = text.replace(/"id"(\s*):(\s*)"[^"]*"/, (_m, a: string, b: string) => `"id"${a}:${b}${JSON.stringify(id)}`);
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
    return d !== undefined && (d.content === '' || d.content === undefined || d.content === null) && d.tool_calls === undefined && d.reasoning_content === undefined;
  } catch {
    return false;
  }
}

/** A thrown error while reading a stream → its outcome (the client leaving is `cancelled`). */
export function streamFailure(ctx: RequestContext, err: unknown, afterFirstByte: boolean): Outcome {
  const e = err instanceof AttemptError ? err : new AttemptError(err, undefined, ctx.clientGone.aborted);
  return classifyError(e.cause, { afterFirstByte, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone || ctx.clientGone.aborted, queuedUpstream: e.queuedUpstream });
}

/** Writes events (sending the stream's headers first), waiting while the client reads slowly. */
export async function writeEvents(ctx: RequestContext, text: string): Promise<void> {
  if (text === '' || ctx.res.writableEnded) return;
  startStream(ctx);
  if (!ctx.res.write(text)) await drained(ctx.res);
}

/** Sends the stream's headers once; later calls do nothing. */
export function startStream(ctx: RequestContext): void {
  const res = ctx.res;
  if (res.headersSent) return;
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
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
