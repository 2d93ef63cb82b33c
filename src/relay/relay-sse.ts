import { StringDecoder } from 'node:string_decoder';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.ts';
import type { SpillwayError } from '../errors.ts';
import { errorEvent } from '../api/render-error.ts';
import type { RequestContext } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { AttemptError } from '../upstream/open-attempt.ts';
import { classifyError } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { SseEventSplitter, eventInfo } from './sse-events.ts';
import { mayCarryUsage, usageOf } from './usage.ts';

export interface SseResult {
  outcome: Outcome;
  /** True once a data event reached the client: from then on only continuation or an in-band error may follow. */
  contentSent: boolean;
}

/**
 * A streamed answer, relayed event by event with backpressure: when the client reads slowly, reading from the
 * upstream pauses, so the gateway never buffers without bound.
 *
 * Two commit points. Headers (200, event-stream) go out with the first event of any kind, so the upstream's
 * `: keep-alive` comments keep intermediaries from timing out. Content commits with the first `data:` event: before
 * it, a failure is returned to the attempt loop, which may retry elsewhere and the client sees one clean stream;
 * after it, the loop must end the stream with an in-band error (or continue the same answer). This function never
 * ends the response on failure: the loop decides.
 */
export async function relaySse(ctx: RequestContext, att: OpenAttempt, rewrite: ((t: string) => string) | undefined, clock: Clock): Promise<SseResult> {
  const res = ctx.res;
  const decoder = new StringDecoder('utf8');
  const splitter = new SseEventSplitter();
  let contentSent = false;
  let done = false;
  let upstreamError = false;
  try {
    for await (const chunk of att.body) {
      att.timer.activity();
      const events = splitter.push(decoder.write(chunk));
      if (events === '') continue;
      let out = '';
      for (const ev of events.split('\n\n')) {
        if (ev === '') continue;
        const info = eventInfo(ev);
        if (info.error && !contentSent) {
          // An error before any content: nothing of it reaches the client, so the loop may still retry.
          return { outcome: { kind: 'server_error', status: 200 }, contentSent };
        }
        if (info.data && !contentSent) {
          contentSent = true;
          att.timer.firstToken();
          ctx.ttftMs = clock.now() - ctx.startedAt;
        }
        if (info.done) done = true;
        if (info.error) upstreamError = true;
        let text = ev;
        if (info.data && !info.done && !info.error) {
          if (rewrite !== undefined) text = rewrite(text);
          if (ctx.usage === undefined && mayCarryUsage(text)) ctx.usage = usageOfEvent(text);
        }
        out += `${text}\n\n`;
        if (done || upstreamError) break;
      }
      if (out !== '') {
        startStream(ctx);
        if (!res.write(out)) await drained(res);
      }
      if (done || upstreamError) break;
    }
  } catch (err) {
    const e = err instanceof AttemptError ? err : new AttemptError(err, undefined, ctx.clientGone.aborted);
    return { outcome: classifyError(e.cause, { afterFirstByte: contentSent, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone || ctx.clientGone.aborted }), contentSent };
  } finally {
    att.close();
  }
  if (ctx.clientGone.aborted) return { outcome: { kind: 'cancelled' }, contentSent };
  if (upstreamError) {
    // The upstream ended the stream with its own error event, already forwarded as it was.
    ctx.errorCode = 'upstream_error';
    res.end();
    return { outcome: { kind: 'server_error', status: 200 }, contentSent };
  }
  if (!done) return { outcome: { kind: 'reset', afterFirstByte: contentSent, detail: 'stream ended without [DONE]' }, contentSent };
  res.end();
  return { outcome: { kind: 'ok' }, contentSent };
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
  const line = ev.split('\n').find((l) => l.startsWith('data:'));
  if (line === undefined) return undefined;
  try {
    return usageOf(JSON.parse(line.slice(5)));
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
