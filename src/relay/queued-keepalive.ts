import type { RequestContext } from '../server/context.ts';
import { startStream } from './relay-sse.ts';

/**
 * What a client hears while its request waits in the queue: a stream gets its 200 and then a `: queued` SSE comment
 * every `everyMs`, so proxies that cut silent connections keep it open (sent whatever `server.sse_comments` says:
 * that knob is about the upstream's comments). Anything else hears nothing, so its status stays free for a clean
 * error. Returns what stops it; the queue calls that when the wait ends, however it ends.
 */
export function keepQueuedClientAlive(ctx: RequestContext, everyMs: number): () => void {
  if (ctx.call?.stream !== true || everyMs <= 0) return () => {};
  const timer = setInterval(() => {
    startStream(ctx);
    ctx.res.write(': queued\n\n');
  }, everyMs);
  return () => clearInterval(timer);
}
