import type { RequestPriority } from '../priority.ts';
import { CLASS_HEADROOM } from '../queue/deadline-plan.ts';
import { requestDeadlineMs } from '../server/deadline.ts';
import { arrivalOrder, outageDuring, type Job, type SlotOutage } from './best-possible.ts';

/**
 * The door's ceiling: how many of a storm's requests a gateway that answers every newcomer AT THE DOOR could finish,
 * with perfect knowledge, under a given admission rule. It splits the gap between a gateway and the best-possible
 * column (best-possible.ts) into what the rule itself costs and what the gateway's estimates and fault handling
 * cost on top:
 *  - the column is class-blind and decides when a request would START, knowing its exact length: at the edge of the
 *    deadline horizon it serves whatever still fits, the short answers of every class;
 *  - a gateway must refuse at the door (a refusal within 50 ms, late refusals at most 1%), keeps a margin of the
 *    client's timeout for the answer's way back, and leaves each lower class headroom (a share of the work ahead) so
 *    that high requests fit without displacing admitted work.
 *
 * The model is the column's (the same pooled slots, exact service times with the expected least fault cost, the
 * outages known in advance), with the door's decision: requests are taken in arrival order (the storms' deadlines
 * are equal, so that is deadline order and no later arrival goes ahead of an admitted one); a newcomer starts when
 * the first slot frees after the work admitted before it, and is admitted iff it finishes by its deadline less the
 * margin and its class's headroom of the wait ahead of it. An admitted request is served (its finish was known), unless
 * the door judged it by the mean service time (`knowsLengths: false`) and it then ends past its deadline.
 */
export interface DoorRule {
  /** Kept back from every deadline (ms). */
  marginMs: number;
  /** Share of the wait ahead of it each class leaves free (deadline-plan.ts CLASS_HEADROOM). */
  headroom: Readonly<Record<RequestPriority, number>>;
  /** The door knows each request's exact service time; else it judges every request by the mean. */
  knowsLengths: boolean;
}

/**
 * The door rules of increasing realism, for clients that send a `deadlineS` timeout: perfect knowledge and
 * class-blind, then the gateway's deadline margin, then its class headroom, then every request judged by the mean.
 */
export function doorRules(deadlineS: number): [label: string, rule: DoorRule][] {
  const marginMs = marginOf(deadlineS);
  const none = { high: 0, normal: 0, low: 0 };
  return [
    ['door, perfect knowledge, class-blind', { marginMs: 0, headroom: none, knowsLengths: true }],
    [`+ the deadline margin (${marginMs} ms)`, { marginMs, headroom: none, knowsLengths: true }],
    [
      `+ class headroom (normal ${CLASS_HEADROOM.normal * 100}%, low ${CLASS_HEADROOM.low * 100}% of the wait)`,
      { marginMs, headroom: CLASS_HEADROOM, knowsLengths: true },
    ],
    ['+ every request judged by the mean service time', { marginMs, headroom: CLASS_HEADROOM, knowsLengths: false }],
  ];
}

/** What the gateway keeps back of a client's timeout of `deadlineS` (x-stainless-timeout) for the answer's way back. */
export function marginOf(deadlineS: number): number {
  return deadlineS * 1000 - requestDeadlineMs({ 'x-stainless-timeout': String(deadlineS) }, 0);
}

/** The share of requests served, in percent (0 when there are none). */
export function servedPct(served: readonly boolean[]): number {
  return (100 * served.filter(Boolean).length) / Math.max(1, served.length);
}

/**
 * The mean service time of the jobs served (ms; NaN when none is). Under overload every rule keeps the slots busy, so
 * what one serves more than another is mostly answers that are shorter on average: at the edge of the deadline
 * horizon only short answers still fit, and a rule that lets a class in before that edge (class headroom: high fits
 * whatever its length) gives that selection up for it.
 */
export function meanServedMs(jobs: readonly Job[], served: readonly boolean[]): number {
  let sum = 0;
  let n = 0;
  jobs.forEach((j, i) => {
    if (served[i] !== true) return;
    sum += j.serviceMs;
    n++;
  });
  return n === 0 ? NaN : sum / n;
}

/** Which jobs a door with perfect knowledge, under `rule`, serves in time (same order as `jobs`). */
export function doorCeiling(
  jobs: readonly Job[],
  slots: number,
  outages: readonly SlotOutage[],
  rule: DoorRule,
): boolean[] {
  const served = jobs.map(() => false);
  if (slots <= 0 || jobs.length === 0) return served;
  const meanMs = jobs.reduce((ms, j) => ms + j.serviceMs, 0) / jobs.length;
  const free: number[] = Array.from({ length: slots }, () => -Infinity);
  for (const j of arrivalOrder(jobs)) {
    const job = jobs[j] as Job;
    const { slot, startMs } = firstStart(free, job, outages);
    const judgedMs = rule.knowsLengths ? job.serviceMs : meanMs;
    const headroomMs = rule.headroom[job.priority] * (startMs - job.arrivalMs);
    if (startMs + judgedMs > job.deadlineMs - rule.marginMs - headroomMs) continue;
    free[slot] = startMs + job.serviceMs;
    served[j] = startMs + job.serviceMs <= job.deadlineMs;
  }
  return served;
}

/** The slot that can run `job` soonest after the work already given to it, and when (a slot down then waits). */
export function firstStart(
  free: readonly number[],
  job: Job,
  outages: readonly SlotOutage[],
): { slot: number; startMs: number } {
  let slot = 0;
  let startMs = Infinity;
  free.forEach((freeAt, k) => {
    let at = Math.max(freeAt, job.arrivalMs);
    const down = outageDuring(outages, k, at, job.serviceMs);
    if (down !== undefined) at = down.endMs;
    if (at < startMs) [slot, startMs] = [k, at];
  });
  return { slot, startMs };
}
