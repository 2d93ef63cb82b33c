import type { Lease } from '../balance/lease.ts';
import type { RequestContext } from '../server/context.ts';
import { startAttempt, type AttemptDeps, type PaceCut, type Started } from './attempt.ts';
import { sleep } from './sleep.ts';

interface Runner {
  lease: Lease;
  cancel: AbortController;
  promise: Promise<Started>;
}

export interface Launch {
  lease: Lease;
  body: Buffer | string;
  /** Set when this attempt may be cut for a crawling pace (it could be continued exactly elsewhere). */
  pace?: PaceCut | undefined;
  /** The Messages door's request passed through to an upstream that serves the Messages API. */
  messages: boolean;
}

/** A hedge a try may send once its first attempt is `delayMs` without content (hedging.ts decides the rest). */
export interface HedgeOffer {
  delayMs: number;
  /** A second lease ready to go (slot and gate had, no budget spent yet), or undefined when none can be had. */
  prepare: () => Promise<PreparedHedge | undefined>;
}

export interface PreparedHedge extends Launch {
  /** Sends it unless the first attempt settled meanwhile, taking the retry budget; false gives the slot back. */
  send: (firstSettled: boolean) => boolean;
}

/**
 * Starts an attempt and, if its first token is later than the offer's delay, a hedge on another upstream; the first
 * to have content wins and the other is cancelled at once (its lease released as `cancelled`, so a slow upstream is
 * not punished as broken). Without an offer this is a plain attempt. Returns the winner with its lease; every other
 * lease is released here.
 */
export async function startWithHedge(
  ctx: RequestContext,
  first: Launch,
  hedge: HedgeOffer | undefined,
  deps: AttemptDeps,
): Promise<{ started: Started; lease: Lease; hedged: boolean }> {
  const launch = (l: Launch): Runner => {
    const cancel = new AbortController();
    return {
      lease: l.lease,
      cancel,
      promise: startAttempt(ctx, l.lease, l.body, deps, { cancel: cancel.signal, pace: l.pace, messages: l.messages }),
    };
  };
  // Without a hedge nothing can cancel this attempt alone: no controller for it (the client leaving still aborts it).
  if (hedge === undefined)
    return {
      started: await startAttempt(ctx, first.lease, first.body, deps, { pace: first.pace, messages: first.messages }),
      lease: first.lease,
      hedged: false,
    };
  const a = launch(first);
  const alone = async () => ({ started: await a.promise, lease: a.lease, hedged: false });
  let settled = false;
  const mark = () => {
    settled = true;
  };
  void a.promise.then(mark, mark);
  const stop = new AbortController();
  const early = await Promise.race([
    a.promise,
    sleep(hedge.delayMs, AbortSignal.any([ctx.clientGone, stop.signal])).then(() => undefined),
  ]);
  stop.abort();
  if (early !== undefined || ctx.clientGone.aborted) return alone();
  const second = await hedge.prepare();
  // Getting the second slot may await its gate: the first attempt may have settled meanwhile.
  if (second === undefined || !second.send(settled)) return alone();
  return { ...(await race(a, launch(second))), hedged: true };
}

/** The first runner with content wins, the other is cancelled; every lease but the winner's is released here. */
async function race(a: Runner, b: Runner): Promise<{ started: Started; lease: Lease }> {
  const pending = new Set([a, b]);
  // A runner that failed first is kept until the other settles: if both fail, the later failure is the answer.
  let failed: { started: Extract<Started, { kind: 'failed' }>; runner: Runner } | undefined;
  while (pending.size > 0) {
    const { runner, started } = await Promise.race(
      [...pending].map((r) => r.promise.then((s) => ({ runner: r, started: s }))),
    );
    pending.delete(runner);
    if (started.kind !== 'failed') {
      for (const loser of pending) cancelLoser(loser);
      failed?.runner.lease.release(failed.started.result.outcome);
      return { started, lease: runner.lease };
    }
    failed?.runner.lease.release(failed.started.result.outcome);
    failed = { started, runner };
  }
  // Both runners settled; the loop only ends after recording a failure.
  const last = failed as NonNullable<typeof failed>;
  return { started: last.started, lease: last.runner.lease };
}

/** The loser is aborted; once it settles its connection is closed and its slot freed. */
function cancelLoser(r: Runner): void {
  r.cancel.abort();
  void r.promise.then((s) => {
    if (s.kind !== 'failed') {
      s.att.close();
      s.span?.end({ kind: 'cancelled' }, s.att.status);
    }
    r.lease.release({ kind: 'cancelled' });
  });
}
