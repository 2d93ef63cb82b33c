/**
 * The last few answers' waits in a silent engine's queue, and what each says the engine runs (pure): the estimate
 * silent-queue.ts (streams) and silent-whole.ts (whole answers) make once a queue is clear in them. An engine that
 * runs S requests of `run` ms each starts one every run / S, so an answer sent with `n` of ours in flight (itself
 * included) waited (n − S) × run / S: S = n × run / (run + wait).
 */

/** Answers one estimate is the median of (odd: the median is one of them). */
export const RECENT = 9;
/** A queue is clear once the median wait is at least this share of the answers' scale (a prefill, a run)... */
const CLEAR_WAIT_SHARE = 0.5;
/** ...and at least this long (ms)... */
const CLEAR_WAIT_MS = 20;
/** ...and the median answer had at least this many ahead of it in the engine's queue. */
const CLEAR_QUEUE = 2;

export class WaitEvidence {
  private readonly recent: { waitMs: number; runs: number; queued: number }[] = [];

  /**
   * An answer sent with `sentWith` in flight waited `waitMs` where a run takes `runMs`; `scaleMs` is what a wait is
   * judged clear against. Returns what the engine runs of ours once the last `RECENT` show a clear queue (then they
   * are forgotten: the next estimate needs new evidence), else undefined.
   */
  add(sentWith: number, runMs: number, waitMs: number, scaleMs: number): number | undefined {
    const runs = runMs <= 0 ? sentWith : (sentWith * runMs) / (runMs + waitMs);
    this.recent.push({ waitMs, runs, queued: sentWith - runs });
    if (this.recent.length > RECENT) this.recent.shift();
    if (this.recent.length < RECENT) return undefined;
    const waited = median(this.recent.map((r) => r.waitMs));
    const queued = median(this.recent.map((r) => r.queued));
    if (waited < Math.max(CLEAR_WAIT_MS, CLEAR_WAIT_SHARE * scaleMs) || queued < CLEAR_QUEUE) return undefined;
    // The median of all nine, those that did not wait included (each says "as many as were in flight", a floor):
    // it leans low while the queue is still short, where a limit one too high hides a queue from the door. Taken
    // over the streams that waited alone, the storm with the metrics off scored 74.4–75.1% in four runs, against
    // 75.1–75.6% in six. Rounded up: one too many costs a request's wait in the engine (a run over S), one too few
    // a slot left idle for the limit's whole hold.
    const estimate = Math.max(1, Math.ceil(median(this.recent.map((r) => r.runs))));
    this.recent.length = 0;
    return estimate;
  }
}

function median(xs: number[]): number {
  const sorted = xs.sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1] as number;
}
