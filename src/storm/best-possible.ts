import type { FleetSpec } from '../mock/fleet.ts';
import { resolveOptions } from '../mock/options.ts';
import { loadedTtftMs, promptPrefillMs } from '../mock/pacing.ts';
import { expectedFaultCostMs } from './fault-cost.ts';
import { PRIORITY_RANK, type RequestPriority } from '../priority.ts';
import type { RequestRecord, Summary } from './summary.ts';

/**
 * The best-possible column: how many of a storm's requests ANY scheduler could have finished within their
 * deadlines, computed offline from the recorded arrivals. It is the yardstick for "Spillway refused work it
 * could have done": the gap between a gateway's success and this is the scheduler's to close.
 *
 * The model (deliberately generous, so the column is an upper bound rather than a guess):
 *  - the fleet is one pool of `slots` = the sum of its upstreams' slots (queues add waiting, not throughput);
 *  - each request's service time is exact for its length, at the fleet's own throughput (see serviceTimeMs);
 *  - an upstream's scheduled outages take its slots away while they last (a job on such a slot must end before the
 *    outage starts, or start after it ends), with the windows taken from the start of the run;
 *  - a fault costs its least slot time (fault-cost.ts: what any scheduler must pay, with no time to notice it), as
 *    an expected cost per request of its upstream's class; jitter and per-key caps cost nothing;
 *  - whenever a slot is free, it takes the waiting request with the earliest deadline (priority, then arrival,
 *    breaking ties) that can still finish by its deadline; one that no longer can is dropped. A slot never idles
 *    while a request that can still finish waits.
 * With the storms' equal-length deadlines, deadline order is arrival order, and serving in that order with every
 * feasible request admitted is what the rule 1 asks of the gateway itself.
 */
export interface Job {
  arrivalMs: number;
  /** Absolute: arrival + the client's timeout. */
  deadlineMs: number;
  serviceMs: number;
  priority: RequestPriority;
}

/** A time window (ms from the start of the run) in which some of the pool's slots are down. */
export interface SlotOutage {
  /** Slot indices of the pool that are down (an upstream's). */
  slots: readonly number[];
  startMs: number;
  endMs: number;
}

/** The indices of `jobs` in arrival order (ties: the order given). */
export function arrivalOrder(jobs: readonly Job[]): number[] {
  return jobs.map((_, i) => i).sort((a, b) => (jobs[a] as Job).arrivalMs - (jobs[b] as Job).arrivalMs || a - b);
}

/** The outage that takes pooled slot `slot` down while a job of `serviceMs` started at `atMs` would run on it. */
export function outageDuring(
  outages: readonly SlotOutage[],
  slot: number,
  atMs: number,
  serviceMs: number,
): SlotOutage | undefined {
  return outages.find((o) => o.slots.includes(slot) && atMs < o.endMs && atMs + serviceMs > o.startMs);
}

/** Which jobs the pooled, deadline-ordered replay finishes in time (same order as `jobs`). */
export function bestPossible(jobs: readonly Job[], slots: number, outages: readonly SlotOutage[] = []): boolean[] {
  const served = jobs.map(() => false);
  if (slots <= 0) return served;
  const order = arrivalOrder(jobs);
  const free: number[] = Array.from({ length: slots }, () => -Infinity);
  // Waiting jobs, sorted by (deadline, priority, arrival index): the head is the next to serve.
  const waiting: number[] = [];
  const before = (a: number, b: number): boolean => {
    const x = jobs[a] as Job;
    const y = jobs[b] as Job;
    return x.deadlineMs !== y.deadlineMs
      ? x.deadlineMs < y.deadlineMs
      : x.priority !== y.priority
        ? PRIORITY_RANK[x.priority] < PRIORITY_RANK[y.priority]
        : a < b;
  };
  const enqueue = (j: number): void => {
    let lo = 0;
    let hi = waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(waiting[mid] as number, j)) lo = mid + 1;
      else hi = mid;
    }
    waiting.splice(lo, 0, j);
  };
  let next = 0;
  // Time only moves forward: a slot that freed long ago serves the waiting jobs from the latest decision on.
  let clock = -Infinity;
  for (;;) {
    let k = 0;
    for (let s = 1; s < slots; s++) if ((free[s] as number) < (free[k] as number)) k = s;
    let now = Math.max(free[k] as number, clock);
    if (waiting.length === 0) {
      if (next >= order.length) break;
      now = Math.max(now, (jobs[order[next] as number] as Job).arrivalMs);
    }
    clock = now;
    while (next < order.length && (jobs[order[next] as number] as Job).arrivalMs <= now)
      enqueue(order[next++] as number);
    // The slot that frees first only ever frees later, so a job that cannot finish now never will: drop it.
    while (waiting.length > 0) {
      const j = waiting[0] as number;
      const job = jobs[j] as Job;
      if (now + job.serviceMs > job.deadlineMs) {
        waiting.shift();
        continue;
      }
      // The slot goes down before the job would end: it is back when the outage is over (the job waits for another).
      const down = outageDuring(outages, k, now, job.serviceMs);
      if (down !== undefined) {
        free[k] = down.endMs;
        break;
      }
      waiting.shift();
      free[k] = now + job.serviceMs;
      served[j] = true;
      break;
    }
  }
  return served;
}

/**
 * A request's service time on the pooled fleet: the time that gives the pool exactly the fleet's own throughput for
 * answers of this length. On one upstream class the time is exact — its TTFT at full load (the load model of the
 * fleet's capacity, demo-fleet.ts) plus (tokens − 1) × token_ms (the mock's pacing: first token at TTFT, then one
 * every token_ms). With mixed classes it is their slot-weighted harmonic mean, Σ slots / Σ (slots_c / time_c):
 * the pooled slots then finish answers exactly as fast, in total, as the real slots working all at once.
 *
 * Why not the fastest class on every slot (a looser bound): on a mixed fleet that overstates the fleet's
 * throughput by up to a fifth (the demo's fleet: 46 vs 38 req/s), and a column every gateway falls short of by
 * construction would hide the gap it exists to show. No scheduler gets more answers per second out of the fleet
 * than its slots give; what the pool leaves out is only that one answer may take a few hundred ms more or less
 * on another class — small beside the storms' 15–60 s deadlines.
 */
export function serviceTimeMs(fleet: FleetSpec, tokens: number, stream = true, promptTokens = 0): number {
  let slots = 0;
  let perMs = 0;
  for (const u of fleet.upstreams) {
    const o = resolveOptions(u);
    if (!Number.isFinite(o.slots) || o.slots === 0) continue;
    const ttftMs =
      loadedTtftMs(o.ttftMs, o.ttftPerInFlightMs, o.slots - 1) +
      promptPrefillMs(o.ttftPer1kPromptTokensMs, promptTokens);
    const pace = { ttftMs, tokenMs: o.tokenMs };
    const faultMs = expectedFaultCostMs(o.faults, tokens, stream, pace, o.continueAfterAbort);
    const ms = pace.ttftMs + Math.max(0, tokens - 1) * o.tokenMs + faultMs;
    slots += o.slots;
    perMs += o.slots / Math.max(ms, 1e-9);
  }
  return slots === 0 ? Infinity : slots / perMs;
}

/** The fleet's scheduled outages on the pooled slots: each upstream's slots are a run of indices, in fleet order. */
export function fleetOutages(fleet: FleetSpec): SlotOutage[] {
  const out: SlotOutage[] = [];
  let first = 0;
  for (const u of fleet.upstreams) {
    const o = resolveOptions(u);
    if (!Number.isFinite(o.slots)) continue;
    const slots = Array.from({ length: o.slots }, (_, i) => first + i);
    for (const w of o.outages) out.push({ slots, startMs: w.startMs, endMs: w.endMs });
    first += o.slots;
  }
  return out;
}

/** The fleet's pooled slots: the sum of its upstreams' (finite) slots. */
export function pooledSlots(fleet: FleetSpec): number {
  return fleet.upstreams.reduce((n, u) => {
    const s = resolveOptions(u).slots;
    return Number.isFinite(s) ? n + s : n;
  }, 0);
}

/** The recorded requests as the column's jobs: sent at their time, due `deadlineS` later, at the pool's pace. */
export function jobsOf(records: readonly RequestRecord[], fleet: FleetSpec, deadlineS: number): Job[] {
  return records.map((r) => {
    const arrivalMs = r.sentAtMs ?? r.arrivalMs ?? 0;
    return {
      arrivalMs,
      deadlineMs: arrivalMs + deadlineS * 1000,
      serviceMs: serviceTimeMs(fleet, r.maxTokens ?? 1, r.stream, r.promptTokens),
      priority: r.priority,
    };
  });
}

/**
 * The best-possible column of a table, from one run's records (every target gets the same planned arrivals, so any
 * run's records will do): success overall and per priority; the other rows do not apply (NaN prints as —).
 */
export function bestPossibleSummary(records: readonly RequestRecord[], fleet: FleetSpec, deadlineS: number): Summary {
  const jobs = jobsOf(records, fleet, deadlineS);
  const served = bestPossible(jobs, pooledSlots(fleet), fleetOutages(fleet));
  const ok = served.filter(Boolean).length;
  const byPriority: Partial<Record<RequestPriority, number>> = {};
  for (const p of ['high', 'normal', 'low'] as const) {
    const of = jobs.flatMap((j, i) => (j.priority === p ? [served[i] === true] : []));
    if (of.length > 0) byPriority[p] = (100 * of.filter(Boolean).length) / of.length;
  }
  return {
    target: 'best possible',
    requests: jobs.length,
    successes: ok,
    successPct: jobs.length === 0 ? 0 : (100 * ok) / jobs.length,
    successPctByPriority: byPriority,
    latencyP50Ms: NaN,
    latencyP99Ms: NaN,
    ttftP50Ms: NaN,
    ttftP99Ms: NaN,
    errorP50Ms: NaN,
    errorP90Ms: NaN,
    failures: {},
    silentTruncations: NaN,
    amplification: NaN,
    wasted: NaN,
    refusals: NaN,
    refusalP50Ms: NaN,
    refusalP90Ms: NaN,
    lateRefusals: NaN,
    upstreamBusyRelayed: NaN,
    invalidBodies: NaN,
    pastDeadline: NaN,
    retries: NaN,
    retriesOk: NaN,
  };
}
