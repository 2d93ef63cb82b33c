import type { RequestContext } from '../server/context.ts';
import { replayAsStream } from './replay-stream.ts';
import { replayMessageStream } from './messages-answer.ts';
import { replayResponseStream } from './responses-answer.ts';

export type CacheLabel = 'hit' | 'coalesced' | 'stale';

/**
 * Answers a request from a stored answer (its non-stream JSON text): as it is for a non-stream request, replayed
 * as SSE chunks for a stream (`as.usage`: with a usage chunk). No upstream is involved, so nothing here can fail
 * after the headers. A Messages-form answer (`as.messages`) is replayed as Messages events (a Responses-form one as
 * Responses events) and goes through the door's response untranslated.
 */
export function serveCached(
  ctx: RequestContext,
  body: string,
  label: CacheLabel,
  as: { usage: boolean; messages: boolean },
): void {
  const res = ctx.res;
  if (res.headersSent || res.destroyed) return;
  res.statusCode = 200;
  res.setHeader('x-spillway-cache', label);
  ctx.settled = true;
  if (as.messages) ctx.call?.native?.passThrough(true);
  if (ctx.call?.stream !== true) {
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  const answer = JSON.parse(body) as Record<string, unknown>;
  const text = !as.messages
    ? replayAsStream(answer, as.usage)
    : ctx.call?.native?.api === 'responses'
      ? replayResponseStream(answer)
      : replayMessageStream(answer);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.end(text);
}

/** `stream_options.include_usage`: a stream that asks for it gets a final usage chunk. */
export function wantsUsage(body: Readonly<Record<string, unknown>>): boolean {
  const o = body.stream_options as { include_usage?: unknown } | null | undefined;
  return body.stream === true && o?.include_usage === true;
}
