import { answer } from './answer.ts';
import { promptText } from './answer-text.ts';
import type { Exchange, MockContext } from './context.ts';
import { parseFaults, type Faults } from './faults.ts';
import type { Prepare, Prepared } from './generation-request.ts';
import { checkLimits } from './limits.ts';
import { sendError, type MockError } from './openai-error.ts';
import { drawFaults } from './random-faults.ts';
import { Reply } from './reply.ts';
import { countFault, refuse } from './report.ts';
import { RNG_STREAM, requestRng } from './rng.ts';

/**
 * The life of one generation request (chat, completion, embeddings), in order:
 *
 *   body checks (400) → faults (request's own, failEvery, seeded draw): status / reset before headers
 *     → per-key concurrency (429) → rpm (429 + exact Retry-After) → enter in-flight
 *     → slot: granted ─────────────────────────────▶ answer (paced, maybe cut by a fault) → completed
 *             queued ── keep-alives … slot freed ──▶ answer
 *                    └─ queue timeout ─▶ refusal (status, or in-band once keep-alives sent headers)
 *             full ──▶ refusal (`reject` status + Retry-After)
 *
 * The response's 'close' ends the request's life: it stops timers, gives the slot back, leaves in-flight, and
 * counts an abort when the answer was not finished (unless the mock dropped it on purpose). With
 * continueAfterAbort, an abort mid-answer defers that until the (unseen) answer is generated to its end.
 */
export function serveGeneration(ctx: MockContext, x: Exchange, prepare: Prepare): void {
  const parsed = parseFaults(x.body.mock);
  if (!parsed.ok) return refuse(ctx, x, 'bad_request', { status: 400, message: parsed.message, param: 'mock' });
  const prepared = prepare(x.body, ctx.opts, ctx.promptCache);
  if ('error' in prepared) return refuse(ctx, x, 'bad_request', prepared.error);
  const index = ++ctx.generations;
  const faults = injectedFaults(ctx, x, index, parsed.faults);
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
  const limited = checkLimits(ctx, x.keyLabel);
  if (limited !== undefined) return refuse(ctx, x, limited.reason, limited.error);
  admit(ctx, x, prepared, faults, index);
}

/**
 * The request's own `mock` field wins over a scheduled fault (`failEvery`), which wins over a seeded draw
 * (`faults` rates). The draw is made for every request, used or not, so request #n always draws the same.
 */
function injectedFaults(ctx: MockContext, x: Exchange, index: number, own: Faults | undefined): Faults | undefined {
  let faults = own;
  const every = ctx.opts.failEvery;
  if (every !== undefined && index % every === 0) {
    faults = { ...((index / every) % 2 === 1 ? { status: 500 } : { resetAfterTokens: 2 }), ...faults };
  }
  const rates = ctx.opts.faults;
  if (rates === undefined) return faults;
  const drawn = drawFaults(
    rates,
    requestRng(ctx.opts.faultSeed, RNG_STREAM.faults, index),
    answerLength(x.body, ctx.opts.defaultMaxTokens),
    ctx.opts.retryAfterS,
  );
  return drawn === undefined ? faults : { ...drawn.faults, ...faults };
}

function answerLength(body: Record<string, unknown>, fallback: number): number {
  const limit = body.max_tokens ?? body.max_completion_tokens;
  return typeof limit === 'number' ? limit : fallback;
}

function admit(ctx: MockContext, x: Exchange, prepared: Prepared, faults: Faults | undefined, index: number): void {
  const { opts, stats, events } = ctx;
  const reply = new Reply(x.res, prepared.stream, ctx.headers);
  let outcome: 'waiting' | 'answering' | 'timed_out' = 'waiting';
  let holdsSlot = false;
  let detached = false;
  let released = false;
  let cancelWait: (() => void) | undefined;
  const timers: { keepAlive?: NodeJS.Timeout; queue?: NodeJS.Timeout } = {};
  const stopWaiting = (): void => {
    cancelWait?.();
    cancelWait = undefined;
    clearInterval(timers.keepAlive);
    clearTimeout(timers.queue);
  };
  // The end of the request's life on the server: once, whichever way it ends.
  const release = (): void => {
    if (released) return;
    released = true;
    reply.stop();
    stopWaiting();
    ctx.live.delete(halt);
    stats.leave(x.keyLabel);
    // Last: releasing may start the next queued request synchronously, which should see this one gone.
    if (holdsSlot) ctx.slots.release();
  };
  // Run by close(): stops timers; a detached generation has no response left to close, so it is released here.
  const halt = (): void => {
    reply.stop();
    stopWaiting();
    if (detached) release();
  };

  const start = (): void => {
    holdsSlot = true;
    stopWaiting();
    outcome = 'answering';
    if (opts.countPrompts) stats.generating(promptText(x.body));
    events.emit('admitted', { id: x.id, path: x.path });
    answer(ctx, x, reply, prepared, faults, index);
  };
  const busy: MockError = { status: opts.reject, retryAfterS: opts.retryAfterS };
  const got = ctx.slots.acquire(start);
  // Refused requests never count as in flight: peakInFlight is the load the server actually took on.
  if (got.kind === 'full') return refuse(ctx, x, 'full', busy);

  stats.enter(x.keyLabel);
  ctx.live.add(halt);
  x.res.once('finish', () => {
    if (outcome !== 'answering') return;
    stats.completed();
    events.emit('completed', { id: x.id, path: x.path });
    // The answer is written to its end: the server is done with it. Its 'close' comes a tick later, by when the
    // client may already have sent its next request, which must not find this one still counted in flight.
    release();
  });
  x.res.once('close', () => {
    const gone = !x.res.writableFinished && !reply.selfDestroyed;
    // A 'refuse' outage killed the connection: the server went down, the client did not leave.
    const killed = gone && ctx.outage === 'refuse';
    if (killed) countFault(ctx, x, 'outage_reset');
    else if (gone) {
      stats.aborted();
      events.emit('aborted', { id: x.id, path: x.path, queued: !holdsSlot });
    }
    if (gone && !killed && outcome === 'answering' && opts.continueAfterAbort) detached = reply.detach(release);
    if (!detached) release();
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
