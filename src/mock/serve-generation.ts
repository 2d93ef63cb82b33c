import type { Exchange, MockContext } from './context.ts';
import { parseFaults, type Faults } from './faults.ts';
import type { Prepare, Prepared } from './generation-request.ts';
import { sendError, type MockError } from './openai-error.ts';
import { schedule } from './pacing.ts';
import { Reply, type Ending } from './reply.ts';

/**
 * The life of one generation request (chat, completion, embeddings), in order:
 *
 *   body checks (400) → injected status / reset fault → per-key limit (429) → enter in-flight
 *     → slot: granted ─────────────────────────────▶ answer (paced, maybe cut by a fault) → completed
 *             queued ── keep-alives … slot freed ──▶ answer
 *                    └─ queue timeout ─▶ refusal (status, or in-band once keep-alives sent headers)
 *             full ──▶ refusal (`reject` status + Retry-After)
 *
 * Whatever happens, the response's 'close' is the single exit: it stops timers, gives the slot back, leaves
 * in-flight, and counts an abort when the answer was not finished (unless the mock dropped it on purpose).
 */
export function serveGeneration(ctx: MockContext, x: Exchange, prepare: Prepare): void {
  const parsed = parseFaults(x.body.mock);
  if (!parsed.ok) return refuse(ctx, x, 'bad_request', { status: 400, message: parsed.message, param: 'mock' });
  const prepared = prepare(x.body, ctx.opts);
  if ('error' in prepared) return refuse(ctx, x, 'bad_request', prepared.error);
  const faults = withScheduledFault(ctx, parsed.faults);
  if (faults?.status !== undefined) {
    countFault(ctx, x, `status_${faults.status}`);
    sendError(x.res, { status: faults.status, retryAfterS: faults.retryAfterS }, ctx.headers);
    return;
  }
  if (faults?.resetBeforeHeaders === true) {
    countFault(ctx, x, 'reset_before_headers');
    x.res.socket?.resetAndDestroy();
    return;
  }
  const limit = ctx.opts.perKeyConcurrency;
  if (limit !== undefined && ctx.stats.inFlightFor(x.keyLabel) >= limit) {
    return refuse(ctx, x, 'key_concurrency', {
      status: 429, message: 'concurrency limit exceeded', code: 'concurrency_limit_exceeded', retryAfterS: ctx.opts.retryAfterS,
    });
  }
  admit(ctx, x, prepared, faults);
}

export function refuse(ctx: MockContext, x: Exchange, reason: string, e: MockError): void {
  ctx.stats.rejected(reason);
  ctx.events.emit('rejected', { id: x.id, path: x.path, reason, status: e.status });
  sendError(x.res, e, ctx.headers);
}

function countFault(ctx: MockContext, x: Exchange, kind: string): void {
  ctx.stats.fault(kind);
  ctx.events.emit('fault', { id: x.id, path: x.path, kind });
}

/** `failEvery`: every Nth generation request fails, alternating a 500 and a reset after two tokens. */
function withScheduledFault(ctx: MockContext, faults: Faults | undefined): Faults | undefined {
  const every = ctx.opts.failEvery;
  if (every === undefined) return faults;
  ctx.generations++;
  if (ctx.generations % every !== 0) return faults;
  const scheduled: Faults = (ctx.generations / every) % 2 === 1 ? { status: 500 } : { resetAfterTokens: 2 };
  return { ...scheduled, ...faults };
}

function admit(ctx: MockContext, x: Exchange, prepared: Prepared, faults: Faults | undefined): void {
  const { opts, stats, events } = ctx;
  const reply = new Reply(x.res, prepared.stream, ctx.headers);
  let outcome: 'waiting' | 'answering' | 'timed_out' = 'waiting';
  let holdsSlot = false;
  let cancelWait: (() => void) | undefined;
  const timers: { keepAlive?: NodeJS.Timeout; queue?: NodeJS.Timeout } = {};
  const stopWaiting = (): void => {
    cancelWait?.();
    cancelWait = undefined;
    clearInterval(timers.keepAlive);
    clearTimeout(timers.queue);
  };
  const stop = (): void => {
    reply.stop();
    stopWaiting();
  };

  const start = (): void => {
    holdsSlot = true;
    stopWaiting();
    outcome = 'answering';
    events.emit('admitted', { id: x.id, path: x.path });
    answer(ctx, x, reply, prepared, faults);
  };
  const busy: MockError = { status: opts.reject, retryAfterS: opts.retryAfterS };
  const got = ctx.slots.acquire(start);
  // Refused requests never count as in flight: peakInFlight is the load the server actually took on.
  if (got.kind === 'full') return refuse(ctx, x, 'full', busy);

  stats.enter(x.keyLabel);
  ctx.live.add(stop);
  x.res.once('finish', () => {
    if (outcome !== 'answering') return;
    stats.completed();
    events.emit('completed', { id: x.id, path: x.path });
  });
  x.res.once('close', () => {
    stop();
    ctx.live.delete(stop);
    stats.leave(x.keyLabel);
    if (!x.res.writableFinished && !reply.selfDestroyed) {
      stats.aborted();
      events.emit('aborted', { id: x.id, path: x.path, queued: !holdsSlot });
    }
    // Last: releasing may start the next queued request synchronously, which should see this one gone.
    if (holdsSlot) ctx.slots.release();
  });

  if (got.kind === 'granted') return start();
  cancelWait = got.cancel;
  events.emit('queued', { id: x.id, path: x.path });
  if (opts.keepAliveMs > 0) {
    timers.keepAlive = setInterval(() => {
      reply.keepAlive();
      events.emit('keepalive', { id: x.id, path: x.path });
    }, opts.keepAliveMs);
  }
  timers.queue = setTimeout(() => {
    stopWaiting();
    outcome = 'timed_out';
    if (!reply.headersSent) return refuse(ctx, x, 'queue_timeout', busy);
    // Headers went out with the keep-alives: the refusal can only be told in the body.
    stats.rejected('queue_timeout');
    events.emit('rejected', { id: x.id, path: x.path, reason: 'queue_timeout', status: opts.reject });
    reply.failInBand(busy);
  }, opts.queueTimeoutMs);
}

function answer(ctx: MockContext, x: Exchange, reply: Reply, prepared: Prepared, faults: Faults | undefined): void {
  const frames = prepared.build();
  let ending: Ending = 'end';
  let cut: number | undefined;
  if (faults?.resetAfterTokens !== undefined) {
    [ending, cut] = ['reset', faults.resetAfterTokens];
    countFault(ctx, x, 'reset_after_tokens');
  } else if (faults?.stallAfterHeaders === true) {
    [ending, cut] = ['stall', 0];
    countFault(ctx, x, 'stall_after_headers');
  } else if (faults?.stallAfterTokens !== undefined) {
    [ending, cut] = ['stall', faults.stallAfterTokens];
    countFault(ctx, x, 'stall_after_tokens');
  }
  const blankLines = faults?.blankLinesBefore ?? 0;
  if (blankLines > 0) countFault(ctx, x, 'blank_lines_before');
  const steps = schedule(frames, {
    ttftMs: faults?.ttftMs ?? ctx.opts.ttftMs,
    tokenMs: faults?.tokenMs ?? ctx.opts.tokenMs,
    buffered: !prepared.stream,
    blankLines,
    keepAliveLine: reply.keepAliveLine,
    cutAfterTokens: cut,
  });
  // A cut non-stream answer still announces its full length, so the client sees a truncated body, not a short one.
  let contentLength: number | undefined;
  if (!prepared.stream && (cut !== undefined || blankLines > 0)) {
    contentLength = blankLines * reply.keepAliveLine.length;
    for (const f of frames) contentLength += Buffer.byteLength(f.data);
  }
  // A stream shows its headers at once and its first token after TTFT, like real servers.
  if (prepared.stream && (steps[0]?.delayMs ?? 0) > 0) reply.sendHeaders();
  reply.play(steps, ending, contentLength, () => {
    ctx.stats.completedAfterClientGone();
  });
}
