import { PRIORITY_RANK, type Priority } from '../priority.ts';

/**
 * The deadline arithmetic of the wait queue (pure; time is passed in). The objective: finish as many requests as
 * their deadlines allow. Waiting requests stand in earliest-deadline-first (EDF) order; a mean answer frees a slot
 * every `slotMs` (the measured drain rate's inverse), and each request takes its length factor f of one (its
 * expected hold time over the mean: service-by-length.ts; 1 where lengths are not predicted), so the request at
 * position k (0-based) starts in about (f(0) + … + f(k − 1) + 1) × slotMs and finishes its own service time later:
 *
 *   finish(k) = now + (Σ_{j<k} f(j) + 1) × slotMs + f(k) × serviceMs      slack(k) = deadline(k) − finish(k)
 *
 * - At the door a newcomer takes its EDF position and is admitted iff it finishes in time there, with its class's
 *   headroom: a share of the work ahead of it kept as room for higher classes that may come. (A share of the work,
 *   not of the deadline: what puts an admitted request in danger is the drain rate turning out lower than measured,
 *   and that error grows with the work ahead.) No guess about the future is needed: with equal-length
 *   deadlines no later arrival stands ahead of it, and a higher class only goes first when that costs nobody their
 *   deadline (see `eligiblePrefix`).
 * - When a high request cannot finish in time, it displaces the least urgent lower-class work ahead of it: a late
 *   refusal, counted. Only high does: it is the class promised every request the fleet can serve, and a late
 *   refusal is worse for a client than a fast one, so a normal request that does not fit is refused at the door
 *   rather than cost an admitted low one its place. Nothing else refuses a request once admitted, unless the drain
 *   rate itself falls (`recheck`).
 *
 * Hand-written: no scheduling library knows deadlines, classes and a measured drain rate together; this is the
 * product's own policy and small enough to test as tables.
 */
export interface Waiting {
  priority: Priority;
  deadlineAt: number;
  /**
   * Its place in the order, when earlier than its deadline: a high request's deadline less the room it keeps for
   * something going wrong once it has a slot (admission-queue.ts). Every test judges by `deadlineAt`.
   */
  orderAt?: number;
  /**
   * This request's expected hold time as a multiple of the mean `serviceMs` (its length limit's: service-by-length.ts);
   * 1 when absent.
   */
  lengthFactor?: number;
  /** Slack kept out of reach of higher classes going first: the estimate's noise margin (ms; 0 when absent). */
  reserveMs?: number;
  /**
   * A client back at the time our Retry-After told it (its SDK's retry): displaced only when no other lower-class
   * work can make room. It came last, so it has the latest deadline, and without this it would be the first victim
   * of the next high arrival — making the Retry-After it was given a lie.
   */
  promised?: boolean;
  /**
   * Work admitted before and failed over (a retry, a continuation of a stream its client is reading): it takes its
   * place by its deadline — the earliest, as it came first — without the peer test. Each peer behind it loses one
   * slot, well inside the estimate's noise (the re-check still drops one made hopeless); refused, the request is
   * lost for certain, with the work already spent on it.
   */
  admitted?: boolean;
  /**
   * Work of the places kept for clients of its class and above coming back at our Retry-After (kept-places.ts), in
   * mean answers: a newcomer with headroom leaves it clear, as it leaves its headroom, up to `RETURN_SHARE` of the
   * work ahead of it. 0 when absent.
   */
  returnWork?: number;
}

export interface Pace {
  now: number;
  /** Mean time between two slots freeing (ms); 0 while unknown: nobody is refused on a guess. */
  slotMs: number;
  /** Mean time an answer holds its slot (ms). */
  serviceMs: number;
  /**
   * The last few seconds' drain rate alone (ms between slots), when measured. A late refusal (displacing admitted
   * work, dropping a waiting request as hopeless) needs it to agree with `slotMs`: a long window that still holds an
   * outage now over reads the drain slower than it is, and the newest evidence says the admitted work will finish.
   */
  recentSlotMs?: number;
  /**
   * Attempts in flight beyond the upstreams' limits now (a learned limit that came down under what had been sent: an
   * engine found queueing our requests, a pushback): each of them finishes before a slot frees for a waiting request,
   * so the whole queue starts that many slots later. 0 when absent.
   */
  overLimit?: number;
}

/**
 * Share of the work ahead of it a class leaves free at the door for the classes above it (and of the queue's places).
 * When the backlog nears the deadline horizon, lower classes stop being admitted a little before high does, so a
 * high request arriving then still fits without displacing anyone (a displacement is a late refusal: worse for a
 * client than a fast one), also when the drain rate turns out a little lower than measured.
 */
export const CLASS_HEADROOM: Readonly<Record<Priority, number>> = { high: 0, normal: 0.02, low: 0.025, background: 0 };
/**
 * Most of the work ahead of it a newcomer leaves clear for the places kept for returns (`returnWork`): clients
 * refused in numbers that never come back — or a hostile one calling itself an SDK, with long answers — cost the
 * lower classes at most this share of the horizon while their places last (about a minute at most). The returns of
 * `sustained --sdk-retries` asked 2.8% of the work ahead at the median, 8% at the 90th percentile, 10% at most, and
 * with this bound every one of them still found its place (167 of 167, no late refusal).
 */
const RETURN_SHARE = 0.05;
/** The one class that displaces lower work when it cannot otherwise finish in time. */
const DISPLACING: Priority = 'high';

export type Admission<W> = { ok: true; displace: W[] } | { ok: false; overMs: number };

/** The pace on the last seconds' drain rate alone, when it reads faster than the pace's own. */
function latest(pace: Pace): Pace | undefined {
  const r = pace.recentSlotMs;
  return r !== undefined && r > 0 && r < pace.slotMs ? { ...pace, slotMs: r } : undefined;
}

/** The time `w` holds its slot once it has one. */
function serviceOf(w: Waiting, pace: Pace): number {
  return pace.serviceMs * (w.lengthFactor ?? 1);
}

/** Slots that free before the head of the queue gets one: its own, after every attempt in flight beyond a limit. */
function headSlot(pace: Pace): number {
  return 1 + (pace.overLimit ?? 0);
}

/**
 * The slots a waiting request takes from the drain: its expected hold time over the mean one (its length factor).
 * `slotMs` is measured on answers of every length, so a queue of short answers drains faster than its count says,
 * and one of long answers slower: a backlog is counted in work, not in requests.
 */
function workOf(w: Waiting): number {
  return w.lengthFactor ?? 1;
}

/** The work of the first `k` entries of `edf`. */
function workBefore(edf: readonly Waiting[], k: number): number {
  let work = 0;
  for (let i = 0; i < k; i++) work += workOf(edf[i] as Waiting);
  return work;
}

/** When the request `w` would finish with `ahead` work (in mean answers) before it in the EDF order. */
function finishAt(ahead: number, pace: Pace, w: Waiting): number {
  return pace.now + (ahead + headSlot(pace)) * pace.slotMs + serviceOf(w, pace);
}

/** Where `w` stands in the order: its deadline, or the earlier place it keeps room by (`orderAt`). */
export function orderOf(w: Waiting): number {
  return w.orderAt ?? w.deadlineAt;
}

/**
 * The high work that will stand ahead of a lower-class newcomer with this deadline without being there yet: high
 * requests arriving within their room after it take their places ahead of it. Those that arrived within their room
 * before it (their deadlines that much earlier than its own, with equal-length deadlines) say how much will.
 */
function overtakingWork(edf: readonly Waiting[], deadlineAt: number): number {
  let work = 0;
  for (const w of edf) {
    const roomMs = w.deadlineAt - orderOf(w);
    if (w.priority === DISPLACING && w.deadlineAt <= deadlineAt && w.deadlineAt > deadlineAt - roomMs)
      work += workOf(w);
  }
  return work;
}

/**
 * The room (ms) a newcomer's class leaves at the door: its share of the work ahead, the high work that will go ahead
 * of it by the room high keeps, and the places kept for returns (`returnWork`). A client back at our Retry-After
 * (`headroom` 0) leaves none of it.
 */
function headroomOf(edf: readonly Waiting[], newcomer: Waiting, ahead: number, pace: Pace, headroom: number): number {
  if (headroom === 0) return 0;
  const horizon = ahead + headSlot(pace);
  const returns = Math.min(newcomer.returnWork ?? 0, RETURN_SHARE * horizon);
  return (headroom * horizon + overtakingWork(edf, newcomer.deadlineAt) + returns) * pace.slotMs;
}

/** Entries of `edf` (sorted by their order) that a newcomer standing at `orderAt` stands behind. */
export function positionOf(edf: readonly Waiting[], orderAt: number): number {
  let lo = 0;
  let hi = edf.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (orderOf(edf[mid] as Waiting) <= orderAt) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The door. `headroom`: the share of the work ahead of it that the newcomer's class leaves as room for higher classes
 * (0 for high). Admitted as is, admitted by displacing lower-class work ahead of it, or refused with how late it
 * would finish (`overMs`).
 */
export function admit<W extends Waiting>(
  edf: readonly W[],
  newcomer: Waiting,
  pace: Pace,
  headroom: number,
): Admission<W> {
  if (pace.slotMs <= 0) return { ok: true, displace: [] };
  const pos = positionOf(edf, orderOf(newcomer));
  const ahead = workBefore(edf, pos);
  const headroomMs = headroomOf(edf, newcomer, ahead, pace, headroom);
  const finish = finishAt(ahead, pace, newcomer);
  const overMs = finish - (newcomer.deadlineAt - headroomMs);
  let displace: W[] = [];
  // The pace the peer test below judges by: the last seconds' when they alone let a late high newcomer in.
  let judged = pace;
  if (overMs > 0) {
    // Headroom is room a class leaves to others: a request beyond it is refused, never let in by displacing.
    const lateMs = finish - newcomer.deadlineAt;
    const promised = newcomer.promised === true;
    if ((newcomer.priority !== DISPLACING && !promised) || headroomMs > 0 || lateMs <= 0) return { ok: false, overMs };
    const recent = latest(pace);
    if (recent !== undefined && finishAt(ahead, recent, newcomer) <= newcomer.deadlineAt) judged = recent;
    else {
      const needed = lateMs / pace.slotMs;
      // High takes the place of lower classes; a client back at our Retry-After, of its own class too: the place it
      // was told to come back for, taken from the newest unpromised arrivals (the latest deadlines: they waited
      // least).
      const rank = PRIORITY_RANK[newcomer.priority];
      const room = enoughOf(
        victims(edf.slice(0, pos), promised && newcomer.priority !== DISPLACING ? rank - 1 : rank, promised),
        needed,
      );
      if (room === undefined) return { ok: false, overMs };
      displace = room;
    }
  }
  // Standing ahead of admitted peers (a shorter deadline) must not cost one of equal or higher class its deadline.
  if (displace.length === 0 && newcomer.admitted !== true) {
    const rank = PRIORITY_RANK[newcomer.priority];
    let before = ahead + workOf(newcomer);
    for (let i = pos; i < edf.length; i++) {
      const w = edf[i] as W;
      const finishes = finishAt(before, judged, w);
      if (PRIORITY_RANK[w.priority] <= rank && finishes > w.deadlineAt)
        return { ok: false, overMs: finishes - w.deadlineAt };
      before += workOf(w);
    }
  }
  return { ok: true, displace };
}

/**
 * How many entries at the head of the EDF order may be served first, in any order: serving entry j before those
 * ahead of it delays each of them by one slot, so j is eligible while every entry ahead keeps a slot of slack
 * beyond its reserve. The queue serves the highest class (then the tenant whose turn it is) among them: priority
 * goes first exactly when that costs nobody their deadline. (Without the reserve, a lower class overtaken again and
 * again is left with no slack at all, and the first slow answer ahead of it makes it miss its deadline.)
 */
export function eligiblePrefix(edf: readonly Waiting[], pace: Pace): number {
  if (pace.slotMs <= 0) return edf.length;
  let ahead = 0;
  for (let i = 0; i < edf.length; i++) {
    const w = edf[i] as Waiting;
    if (w.deadlineAt - finishAt(ahead, pace, w) < pace.slotMs + (w.reserveMs ?? 0)) return i + 1;
    ahead += workOf(w);
  }
  return edf.length;
}

export interface Drop<W> {
  entry: W;
  reason: 'displaced' | 'deadline_unmeetable';
}

/**
 * Waiting requests that can no longer finish in time where they stand, because the drain rate fell (an upstream
 * failed, a learned limit came down) — told now rather than at their deadline. Only hopeless by `margin` (the
 * estimate's noise) counts. Where a lower class stands ahead of a late high request, the lower one goes instead.
 */
export function recheck<W extends Waiting>(edf: readonly W[], pace: Pace, margin: number): Drop<W>[] {
  if (pace.slotMs <= 0) return [];
  // Hopeless on the newest evidence too (see `Pace.recentSlotMs`).
  const slotMs = latest(pace)?.slotMs ?? pace.slotMs;
  const ahead = headSlot(pace);
  const kept: W[] = [];
  let keptWork = 0;
  const drops: Drop<W>[] = [];
  for (const w of edf) {
    const late = (): boolean => (keptWork + ahead) * slotMs + serviceOf(w, pace) > margin * (w.deadlineAt - pace.now);
    while (late() && w.priority === DISPLACING) {
      const [victim] = victims(kept, PRIORITY_RANK[w.priority]);
      if (victim === undefined) break;
      kept.splice(kept.indexOf(victim), 1);
      keptWork -= workOf(victim);
      drops.push({ entry: victim, reason: 'displaced' });
    }
    if (late()) drops.push({ entry: w, reason: 'deadline_unmeetable' });
    else {
      kept.push(w);
      keptWork += workOf(w);
    }
  }
  return drops;
}

/** The first of `candidates` whose work adds up to `needed` slots; undefined when all of them do not. */
function enoughOf<W extends Waiting>(candidates: readonly W[], needed: number): W[] | undefined {
  const taken: W[] = [];
  let freed = 0;
  for (const w of candidates) {
    if (freed >= needed) break;
    taken.push(w);
    freed += workOf(w);
  }
  return freed >= needed ? taken : undefined;
}

/**
 * The entries of a class below `rank`, in the order they are displaced: requests not promised a place first (see
 * `promised`), then the lowest class first, the least urgent (latest deadline) first.
 */
function victims<W extends Waiting>(ahead: readonly W[], rank: number, unpromisedOnly = false): W[] {
  const lower = ahead.filter((w) => PRIORITY_RANK[w.priority] > rank && !(unpromisedOnly && w.promised === true));
  lower.sort(
    (a, b) =>
      Number(a.promised === true) - Number(b.promised === true) ||
      PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] ||
      b.deadlineAt - a.deadlineAt,
  );
  return lower;
}
