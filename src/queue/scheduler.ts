import { eligiblePrefix, orderOf, positionOf, type Pace } from './deadline-plan.ts';
import { PRIORITIES, PRIORITY_RANK, type Priority } from '../priority.ts';

/**
 * The order in which waiting requests get a free upstream slot (pure; time is passed in):
 *
 *   earliest deadline first (EDF)          the order every deadline test counts positions in (high stands its
 *                                          room earlier: deadline-plan.ts `Waiting.orderAt`)
 *   among the eligible head of that order  high ─▶ normal ─▶ low   (priority goes first when that costs nobody
 *                                                                   their deadline: deadline-plan.ts)
 *   inside one class                       tenants take turns (A, B, C, A, …), each tenant's earliest deadline first
 *   background (job items)                 last, in deadline order, never counted in an interactive position
 *
 * The queue is bounded: when full, a newcomer of a higher class displaces the least urgent entry (latest deadline)
 * of the lowest class below it; otherwise it is refused.
 *
 * Hand-written: the scheduling policy is the product's own value (no queue library combines deadlines, classes and
 * per-tenant fairness), and it is small enough to test as a table.
 */
export interface Entry<T> {
  priority: Priority;
  tenant: string;
  deadlineAt: number;
  /** Its place in the order, when earlier than its deadline (deadline-plan.ts `Waiting.orderAt`). */
  orderAt?: number;
  /** Slack higher classes may not take from it (deadline-plan.ts `eligiblePrefix`). */
  reserveMs?: number;
  /** A client's own retry at our Retry-After: the last to be displaced (deadline-plan.ts `Waiting.promised`). */
  promised?: boolean;
  /** Work admitted before and failed over (deadline-plan.ts `Waiting.admitted`). */
  admitted?: boolean;
  /** Its expected hold time over the mean one (deadline-plan.ts `Waiting.lengthFactor`). */
  lengthFactor?: number;
  item: T;
}

export type Offer<T> = { ok: true; displaced?: Entry<T> } | { ok: false };

export class Scheduler<T> {
  private readonly maxSize: number;
  /** Interactive entries by deadline (ties: arrival order). */
  private readonly edf: Entry<T>[] = [];
  /** Background entries by deadline. */
  private readonly background: Entry<T>[] = [];
  /** Per class, the tenant whose turn it is comes first; the served tenant moves to the back. */
  private readonly turns = new Map<Priority, string[]>(PRIORITIES.map((p) => [p, []]));
  private readonly counts = new Map<Priority, number>(PRIORITIES.map((p) => [p, 0]));

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  get size(): number {
    return this.edf.length + this.background.length;
  }

  sizeOf(p: Priority): number {
    return this.counts.get(p) as number;
  }

  /** Interactive entries in deadline order (what positions and deadline tests count). */
  get byDeadline(): readonly Entry<T>[] {
    return this.edf;
  }

  offer(e: Entry<T>): Offer<T> {
    let displaced: Entry<T> | undefined;
    if (this.size >= this.maxSize) {
      displaced = this.victimBelow(e.priority);
      if (displaced === undefined) return { ok: false };
      this.remove(displaced);
    }
    const list = this.listOf(e.priority);
    list.splice(positionOf(list, orderOf(e)), 0, e);
    this.counts.set(e.priority, this.sizeOf(e.priority) + 1);
    const turn = this.turns.get(e.priority) as string[];
    if (!turn.includes(e.tenant)) turn.push(e.tenant);
    return displaced === undefined ? { ok: true } : { ok: true, displaced };
  }

  remove(e: Entry<T>): boolean {
    const list = this.listOf(e.priority);
    const i = list.indexOf(e);
    if (i < 0) return false;
    list.splice(i, 1);
    this.counts.set(e.priority, this.sizeOf(e.priority) - 1);
    if (!list.some((x) => x.priority === e.priority && x.tenant === e.tenant)) {
      const turn = this.turns.get(e.priority) as string[];
      turn.splice(turn.indexOf(e.tenant), 1);
    }
    return true;
  }

  /** Removes a served entry and passes its class's turn to the next tenant. */
  served(e: Entry<T>): void {
    if (!this.remove(e)) return;
    const turn = this.turns.get(e.priority) as string[];
    const at = turn.indexOf(e.tenant);
    if (at >= 0) turn.push(...turn.splice(at, 1));
  }

  /**
   * Every entry in the order it would be served: the eligible head of the EDF order by class, tenant turn and
   * deadline; then the rest of the EDF order; background last. Without a pace (`slotMs` 0) the whole queue is
   * eligible, which is strict priority. Lazy, and the queue must not change while it is read.
   */
  *inOrder(pace?: Pace): Generator<Entry<T>> {
    const n = pace === undefined ? this.edf.length : eligiblePrefix(this.edf, pace);
    const edf = this.edf;
    for (const p of PRIORITIES) {
      if (p === 'background') continue;
      const tenants = this.turns.get(p) as string[];
      if (tenants.length === 0) continue;
      if (tenants.length === 1) {
        // One tenant (the common case): no turns to take, and no list to build, so a pump that stops early is cheap.
        for (let i = 0; i < n; i++) if ((edf[i] as Entry<T>).priority === p) yield edf[i] as Entry<T>;
        continue;
      }
      const perTenant = new Map<string, Entry<T>[]>(tenants.map((t) => [t, []]));
      let left = 0;
      for (let i = 0; i < n; i++) {
        const e = edf[i] as Entry<T>;
        if (e.priority !== p) continue;
        perTenant.get(e.tenant)?.push(e);
        left++;
      }
      const lists = [...perTenant.values()];
      for (let round = 0; left > 0; round++) {
        for (const l of lists) {
          const e = l[round];
          if (e !== undefined) {
            left--;
            yield e;
          }
        }
      }
    }
    for (let i = n; i < this.edf.length; i++) yield this.edf[i] as Entry<T>;
    yield* this.background;
  }

  /** The entry to drop for a newcomer of class `p` when full: the latest deadline of the lowest class below `p`. */
  private victimBelow(p: Priority): Entry<T> | undefined {
    for (let r = PRIORITIES.length - 1; r > PRIORITY_RANK[p]; r--) {
      const q = PRIORITIES[r] as Priority;
      const list = this.listOf(q);
      for (let i = list.length - 1; i >= 0; i--) if ((list[i] as Entry<T>).priority === q) return list[i];
    }
    return undefined;
  }

  private listOf(p: Priority): Entry<T>[] {
    return p === 'background' ? this.background : this.edf;
  }
}
