import type { Lease } from '../balance/balancer.ts';
import type { RequestContext } from '../server/context.ts';
import { startAttempt, type AttemptDeps, type Started } from './attempt.ts';
import { sleep } from './sleep.ts';

interface Runner {
  lease: Lease;
  cancel: AbortController;
  promise: Promise<Started>;
}

export interface Launch {
  lease: Lease;
  body: Buffer | string;
  /** The Messages door's request passed through to an upstream that serves the Messages API. */
  messages: boolean;
}

/**
 * Starts an attempt and, if its first token is later than `delayMs`, a hedge on another upstream; the first to
 * have content wins and the other is cancelled at once (its lease released as `cancelled`, so a slow upstream is
 * not punished as broken). `hedge()` resolves to undefined when no other upstream, no free slot or no retry budget
 * is left. Without a delay this is a plain attempt. Returns the winner with its lease; every other lease is released
 * here.
 */
export async function startWithHedge(ctx: RequestContext, first: Launch, delayMs: number | undefined, hedge: () => Promise<Launch | undefined>, deps: AttemptDeps): Promise<{ started: Started; lease: Lease; hedged: boolean }> {
  const launch = (l: Launch): Runner => {
    const cancel = new AbortController();
    return { lease: l.lease, cancel, promise: startAttempt(ctx, l.lease, l.body, deps, cancel.signal, l.messages) };
  };
  const a = launch(first);
  if (delayMs === undefined) return { started: await a.promise, lease: a.lease, hedged: false };
  const stop = new AbortController();
  const early = await Promise.race([a.promise, sleep(delayMs, AbortSignal.any([ctx.clientGone, stop.signal])).then(() => undefined)]);
  stop.abort();
  if (early !== undefined || ctx.clientGone.aborted) return { started: early ?? (await a.promise), lease: a.lease, hedged: false };
  const second = await hedge();
  if (second === undefined) return { started: await a.promise, lease: a.lease, hedged: false };
  const b = launch(second);
  const pending = new Set([a, b]);
  // A runner that failed first is kept until the other settles: if both fail, the later failure is the answer.
  let failed: { started: Extract<Started, { kind: 'failed' }>; runner: Runner } | undefined;
  while (pending.size > 0) {
    const { runner, started } = await Promise.race([...pending].map((r) => r.promise.then((s) => ({ runner: r, started: s }))));
    pending.delete(runner);
    if (started.kind !== 'failed') {
      for (const loser of pending) cancelLoser(loser);
      failed?.runner.lease.release(failed.started.result.outcome);
      return { started, lease: runner.lease, hedged: true };
    }
    failed?.runner.lease.release(failed.started.result.outcome);
    failed = { started, runner };
  }
  // Both runners settled; the loop only ends after recording a failure.
  const last = failed as NonNullable<typeof failed>;
  return { started: last.started, lease: last.runner.lease, hedged: true };
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
