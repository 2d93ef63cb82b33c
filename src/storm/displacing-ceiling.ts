import { PRIORITY_RANK } from '../priority.ts';
import { arrivalOrder, type Job, type SlotOutage } from './best-possible.ts';
import { CLASS_HEADROOM } from '../queue/deadline-plan.ts';
import { firstStart, type DoorRule } from './door-ceiling.ts';

/**
 * The door's ceiling when a high request that does not fit displaces admitted lower-class work instead of being
 * refused (as the gateway's door does: deadline-plan.ts `admit`), with perfect knowledge. It answers the question the
 * class headroom leaves open: the acceptance asks for high 100% AND late refusals (displacements) ≤ 1% AND success
 * within 2 points of the class-blind column, and on some fleets no headroom gives all three even to a door that knows
 * every length and outage in advance — then the gap is the rules', not the gateway's.
 *
 * Model: door-ceiling.ts's (pooled slots, exact service times, arrival order = deadline order), with the admitted
 * requests that have not started kept as a plan: each has the slot and start it gets behind the work admitted before
 * it, and a later arrival never changes that (it stands behind). A displacement removes lower-class requests from the
 * plan (the lowest class first, the latest first, as the gateway's victims) until the high newcomer fits, and plans
 * the rest again.
 */
export interface DisplacingCeiling {
  served: boolean[];
  /** Admitted requests displaced by a high one (late refusals). */
  displaced: number;
}

interface Planned {
  job: number;
  slot: number;
  startMs: number;
}

export function displacingDoorCeiling(
  jobs: readonly Job[],
  slots: number,
  outages: readonly SlotOutage[],
  rule: DoorRule,
): DisplacingCeiling {
  const served = jobs.map(() => false);
  if (slots <= 0 || jobs.length === 0) return { served, displaced: 0 };
  const meanMs = jobs.reduce((ms, j) => ms + j.serviceMs, 0) / jobs.length;
  const started: number[] = Array.from({ length: slots }, () => -Infinity);
  let plan: Planned[] = [];
  let tail = [...started];
  let displaced = 0;
  /** Where `job` would start behind the plan whose slots free at `free`, if it is admitted there. */
  const place = (job: Job, free: readonly number[]): Omit<Planned, 'job'> | undefined => {
    const at = firstStart(free, job, outages);
    const judgedMs = rule.knowsLengths ? job.serviceMs : meanMs;
    const headroomMs = rule.headroom[job.priority] * (at.startMs - job.arrivalMs);
    return at.startMs + judgedMs <= job.deadlineMs - rule.marginMs - headroomMs ? at : undefined;
  };
  for (const j of arrivalOrder(jobs)) {
    const job = jobs[j] as Job;
    // What has started by now keeps its slot: later arrivals stand behind it.
    const [begun, waiting] = partition(plan, (p) => p.startMs <= job.arrivalMs);
    for (const p of begun) {
      started[p.slot] = Math.max(started[p.slot] as number, p.startMs + (jobs[p.job] as Job).serviceMs);
      served[p.job] = inTime(jobs, p);
    }
    plan = waiting;
    let at = place(job, tail);
    if (at === undefined && job.priority === 'high') {
      for (const [n, kept] of victimsRemoved(jobs, plan)) {
        const again = replan(jobs, kept, started, outages);
        at = place(job, again.tail);
        if (at === undefined) continue;
        [plan, tail] = [again.plan, again.tail];
        displaced += n;
        break;
      }
    }
    if (at === undefined) continue;
    plan.push({ job: j, ...at });
    tail[at.slot] = at.startMs + job.serviceMs;
  }
  for (const p of plan) served[p.job] = inTime(jobs, p);
  return { served, displaced };
}

/** Whether the planned request ends by its deadline. */
function inTime(jobs: readonly Job[], p: Planned): boolean {
  const job = jobs[p.job] as Job;
  return p.startMs + job.serviceMs <= job.deadlineMs;
}

/** The plan with 1, 2, 3… of its lower-class requests taken out, in the gateway's victim order. */
function* victimsRemoved(jobs: readonly Job[], plan: readonly Planned[]): Generator<[number, Planned[]]> {
  const rank = (p: Planned) => PRIORITY_RANK[(jobs[p.job] as Job).priority];
  const victims = plan.filter((p) => rank(p) > PRIORITY_RANK.high).sort((a, b) => rank(b) - rank(a) || b.job - a.job);
  const out = new Set<Planned>();
  for (const v of victims) {
    out.add(v);
    yield [out.size, plan.filter((p) => !out.has(p))];
  }
}

/** `plan`'s requests given slots again, in order, behind what has started. */
function replan(
  jobs: readonly Job[],
  plan: readonly Planned[],
  started: readonly number[],
  outages: readonly SlotOutage[],
): { plan: Planned[]; tail: number[] } {
  const tail = [...started];
  const again = plan.map((p) => {
    const job = jobs[p.job] as Job;
    const at = firstStart(tail, job, outages);
    tail[at.slot] = at.startMs + job.serviceMs;
    return { job: p.job, ...at };
  });
  return { plan: again, tail };
}

function partition<T>(xs: readonly T[], pred: (x: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const x of xs) (pred(x) ? yes : no).push(x);
  return [yes, no];
}

/** Multiples of the shipped class headroom the search below tries. */
const HEADROOM_SCALES = [0, 0.25, 0.5, 1, 1.5, 2, 3, 4];

/**
 * The most requests a displacing door with perfect knowledge serves while meeting the acceptance's other two lines —
 * high 100% and late refusals at most `lateShare` of the requests — over headrooms that scale the shipped ones;
 * undefined when no headroom tried meets both.
 */
export function bestHeadroomUnderAcceptance(
  jobs: readonly Job[],
  slots: number,
  outages: readonly SlotOutage[],
  marginMs: number,
  lateShare = 0.01,
): { scale: number; result: DisplacingCeiling } | undefined {
  let best: { scale: number; result: DisplacingCeiling } | undefined;
  for (const scale of HEADROOM_SCALES) {
    const headroom = { high: 0, normal: CLASS_HEADROOM.normal * scale, low: CLASS_HEADROOM.low * scale };
    const result = displacingDoorCeiling(jobs, slots, outages, { marginMs, headroom, knowsLengths: true });
    const highAll = jobs.every((j, i) => j.priority !== 'high' || result.served[i] === true);
    if (!highAll || result.displaced > lateShare * jobs.length) continue;
    const count = result.served.filter(Boolean).length;
    if (best === undefined || count > best.result.served.filter(Boolean).length) best = { scale, result };
  }
  return best;
}

/** A row of the door's ceiling: what it is, what the run makes of it (late refusals, the headroom found), and who it serves. */
export interface CeilingRow {
  label: string;
  note: string;
  served: boolean[];
}

/**
 * The door-ceiling rows a displacing door adds (both benches print them): the shipped headroom with displacement,
 * and the headroom that serves most under the acceptance's high-100% and late-refusal lines.
 */
export function displacingRows(
  jobs: readonly Job[],
  slots: number,
  outages: readonly SlotOutage[],
  marginMs: number,
): CeilingRow[] {
  const shipped = displacingDoorCeiling(jobs, slots, outages, {
    marginMs,
    headroom: CLASS_HEADROOM,
    knowsLengths: true,
  });
  const best = bestHeadroomUnderAcceptance(jobs, slots, outages, marginMs);
  const pct = (share: number) => `${+(share * 100).toFixed(2)}%`;
  return [
    {
      label: 'class headroom, exact lengths, and high displacing lower work instead of being refused',
      note: `${shipped.displaced} late refusals`,
      served: shipped.served,
    },
    {
      label: 'the headroom that serves most with high 100% and late refusals ≤ 1%',
      note:
        best === undefined
          ? 'none of those tried'
          : `normal ${pct(CLASS_HEADROOM.normal * best.scale)}, low ${pct(CLASS_HEADROOM.low * best.scale)}; ${best.result.displaced} late`,
      served: best?.result.served ?? jobs.map(() => false),
    },
  ];
}
