import { estimateTokens, promptText } from './answer-text.ts';
import type { Exchange, MockContext } from './context.ts';
import type { Faults } from './faults.ts';
import type { Prepared } from './generation-request.ts';
import { jitterSteps, loadedTtftMs, promptPrefillMs, schedule } from './pacing.ts';
import type { Reply, Ending } from './reply.ts';
import { countFault } from './report.ts';
import { RNG_STREAM, requestRng } from './rng.ts';

/**
 * Writes one admitted request's answer: applies the faults that act during the answer (cuts, stalls, slow tokens,
 * blank lines), the pacing (TTFT grown by the load, per-token time, jitter), and plays it on `reply`.
 * `index` is the request's place in arrival order, which seeds its jitter.
 */
export function answer(
  ctx: MockContext,
  x: Exchange,
  reply: Reply,
  prepared: Prepared,
  faults: Faults | undefined,
  index: number,
): void {
  const { opts } = ctx;
  // This request already holds its slot: the others are the rest of the batch it joins.
  // Counted only when asked for: the prompt's text is walked for it.
  const prefillMs =
    opts.ttftPer1kPromptTokensMs > 0
      ? promptPrefillMs(opts.ttftPer1kPromptTokensMs, estimateTokens(promptText(x.body)))
      : 0;
  const ttftMs = loadedTtftMs(faults?.ttftMs ?? opts.ttftMs, opts.ttftPerInFlightMs, ctx.slots.inUse - 1) + prefillMs;
  if (faults?.keepAliveForever === true) {
    countFault(ctx, x, 'keep_alive_forever');
    reply.holdForever(opts.keepAliveMs > 0 ? opts.keepAliveMs : 1000);
    return;
  }
  const onGone = (): void => {
    ctx.stats.completedAfterClientGone();
    ctx.events.emit('completed-after-client-gone', { id: x.id, path: x.path });
  };
  const instead =
    faults?.blank200 === true ? 'blank_200' : faults?.wrongContentType === true ? 'wrong_content_type' : undefined;
  if (instead !== undefined) {
    // After the usual wait for a first token, so from outside it looks like an answer until it is read.
    countFault(ctx, x, instead);
    reply.html = instead === 'wrong_content_type';
    const data = reply.html ? WRONG_PAGE : '\n\n\n';
    let steps = [{ delayMs: ttftMs, data }];
    if (opts.jitterPct > 0)
      steps = jitterSteps(steps, opts.jitterPct, requestRng(opts.faultSeed, RNG_STREAM.jitter, index));
    reply.play(steps, 'end', undefined, onGone);
    return;
  }
  const frames = prepared.build();
  let ending: Ending = 'end';
  let cut: number | undefined;
  if (faults?.endAfterTokens !== undefined) {
    cut = faults.endAfterTokens;
    countFault(ctx, x, 'end_after_tokens');
  } else if (faults?.resetAfterTokens !== undefined) {
    [ending, cut] = ['reset', faults.resetAfterTokens];
    countFault(ctx, x, 'reset_after_tokens');
  } else if (faults?.stallAfterHeaders === true) {
    [ending, cut] = ['stall', 0];
    countFault(ctx, x, 'stall_after_headers');
  } else if (faults?.stallAfterTokens !== undefined) {
    [ending, cut] = ['stall', faults.stallAfterTokens];
    countFault(ctx, x, 'stall_after_tokens');
  }
  if (faults?.slowTokens === true) countFault(ctx, x, 'slow_tokens');
  const blankLines = faults?.blankLinesBefore ?? 0;
  if (blankLines > 0) countFault(ctx, x, 'blank_lines_before');
  let steps = schedule(frames, {
    ttftMs,
    tokenMs: faults?.tokenMs ?? opts.tokenMs,
    buffered: !prepared.stream,
    blankLines,
    keepAliveLine: reply.keepAliveLine,
    cutAfterTokens: cut,
  });
  if (opts.jitterPct > 0)
    steps = jitterSteps(steps, opts.jitterPct, requestRng(opts.faultSeed, RNG_STREAM.jitter, index));
  // A cut non-stream answer still announces its full length, so the client sees a truncated body, not a short one
  // (except a clean truncation, whose length is that of the cut body: nothing at the HTTP level gives it away).
  let contentLength: number | undefined;
  if (!prepared.stream && ((cut !== undefined && ending !== 'end') || blankLines > 0)) {
    contentLength = blankLines * reply.keepAliveLine.length;
    for (const f of frames) contentLength += Buffer.byteLength(f.data);
  }
  // A stream shows its headers at once and its first token after TTFT, like real servers.
  if (prepared.stream && (steps[0]?.delayMs ?? 0) > 0) reply.sendHeaders();
  reply.play(steps, ending, contentLength, onGone);
}

/** What a misconfigured proxy in front of an API answers with a 200: a web page. */
const WRONG_PAGE =
  '<!DOCTYPE html><html><head><title>Service</title></head><body><p>Please try again later.</p></body></html>\n';
