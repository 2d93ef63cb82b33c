import { StringDecoder } from 'node:string_decoder';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.ts';
import { SpillwayError } from '../errors.ts';
import { errorEvent } from '../api/render-error.ts';
import type { RequestContext } from '../server/context.ts';
import type { OpenAttempt } from '../upstream/open-attempt.ts';
import { AttemptError } from '../upstream/open-attempt.ts';
import { classifyError } from '../upstream/classify.ts';
import type { Outcome } from '../upstream/outcome.ts';
import { SseEventSplitter, eventInfo } from './sse-events.ts';
import { mayCarryUsage, usageOf } from './usage.ts';

/**
 * A streamed answer, relayed event by event with backpressure: when the client reads slowly, reading from the
 * upstream pauses, so the gateway never buffers without bound. The response commits at the upstream's 200; from
 * then on a failure ends the stream with an in-band `data: {"error":…}` event (which the SDKs raise), never with a
 * clean end that looks complete.
 */
export async function relaySse(ctx: RequestContext, att: OpenAttempt, rewrite: ((t: string) => string) | undefined, clock: Clock): Promise<Outcome> {
  const res = ctx.res;
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  ctx.settled = true;
  const decoder = new StringDecoder('utf8');
  const splitter = new SseEventSplitter();
  let done = false;
  let upstreamError = false;
  let sawData = false;
  try {
    for await (const chunk of att.body) {
      att.timer.activity();
      const events = splitter.push(decoder.write(chunk));
      if (events === '') continue;
      let out = '';
      for (const ev of events.split('\n\n')) {
        if (ev === '') continue;
        const info = eventInfo(ev);
        if (info.data && !sawData) {
          sawData = true;
          att.timer.firstToken();
          ctx.ttftMs = clock.now() - ctx.startedAt;
        }
        if (info.done) done = true;
        if (info.error) upstreamError = true;
        let text = ev;
        if (info.data && !info.done) {
          if (rewrite !== undefined) text = rewrite(text);
          if (ctx.usage === undefined && mayCarryUsage(text)) ctx.usage = usageOfEvent(text);
        }
        out += `${text}\n\n`;
        if (done || upstreamError) break;
      }
      if (out !== '' && !res.write(out)) await drained(res);
      if (done || upstreamError) break;
    }
  } catch (err) {
    const e = err instanceof AttemptError ? err : new AttemptError(err, undefined, ctx.clientGone.aborted);
    const outcome = classifyError(e.cause, { afterFirstByte: true, timeoutPhase: e.timeoutPhase, clientGone: e.clientGone || ctx.clientGone.aborted });
    if (outcome.kind !== 'cancelled') endWithError(ctx, interruption(outcome));
    return outcome;
  } finally {
    att.close();
  }
  if (ctx.clientGone.aborted) return { kind: 'cancelled' };
  if (upstreamError) {
    // The upstream ended the stream with its own error event, already forwarded as it was.
    ctx.errorCode = 'upstream_error';
    res.end();
    return { kind: 'server_error', status: 200 };
  }
  if (!done) {
    endWithError(ctx, new SpillwayError('stream_interrupted', `The upstream stream ended before it was complete (no [DONE]).`));
    return { kind: 'reset', afterFirstByte: true, detail: 'stream ended without [DONE]' };
  }
  res.end();
  return { kind: 'ok' };
}

function interruption(o: Outcome): SpillwayError {
  const why = o.kind === 'timeout' ? `the upstream exceeded its ${o.phase.replace('_', ' ')} timeout` : 'the upstream connection failed';
  return new SpillwayError('stream_interrupted', `The stream was interrupted: ${why}. The answer is incomplete.`);
}

function endWithError(ctx: RequestContext, e: SpillwayError): void {
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
