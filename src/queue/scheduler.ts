/**
 * The order in which waiting requests get a free upstream slot (pure; no clock reads, no I/O):
 *
 *   strict priority between classes        high ─────▶ normal ─────▶ low ─────▶ background
 *   fair round-robin between tenants       (A, B, C, A, B, C, … inside one class; the turn moves on when served)
 *   earliest deadline first inside a tenant
 *
 * The queue is bounded. When it is full, a newcomer of a higher class displaces the least urgent entry (latest
 * deadline) of the lowest class below it; otherwise the newcomer is refused.
 *
 * Hand-written: the scheduling policy is the product's own value (no queue library combines strict classes,
 * per-tenant fairness and EDF), and it is small enough to test as a table.
 */
/**
 * `background` is the class of async jobs and batch items (src/jobs/): it is never asked for by a client header,
 * and since `aheadOf` counts only a class and those above it, background entries never lengthen an interactive
 * request's expected wait.
 */
export type Priority = 'high' | 'normal' | 'low' | 'background';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low', 'background'];

export interface Entry<T> {
  priority: Priority;
  tenant: string;
  deadlineAt: number;
  item: T;
}

export type Offer<T> = { ok: true; displaced?: Entry<T> } | { ok: false };

interface ClassQueue<T> {
  /** Entries per tenant, each sorted by deadline. */
  byTenant: Map<string, Entry<T>[]>;
  /** Tenants in round-robin order; `turn` is the index of the tenant served next. */
  order: string[];
  turn: number;
}

export class Scheduler<T> {
  private readonly maxSize: number;
  private readonly classes = new Map<Priority, ClassQueue<T>>(PRIORITIES.map((p) => [p, { byTenant: new Map(), order: [], turn: 0 }]));
  private count = 0;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  get size(): number {
    return this.count;
  }

  sizeOf(p: Priority): number {
    let n = 0;
    for (const list of this.cls(p).byTenant.values()) n += list.length;
    return n;
  }

  offer(e: Entry<T>): Offer<T> {
    let displaced: Entry<T> | undefined;
    if (this.count >= this.maxSize) {
      displaced = this.victimBelow(e.priority);
      if (displaced === undefined) return { ok: false };
      this.remove(displaced);
    }
    const c = this.cls(e.priority);
    let list = c.byTenant.get(e.tenant);
    if (list === undefined) {
      list = [];
      c.byTenant.set(e.tenant, list);
      c.order.push(e.tenant);
    }
    let i = list.length;
    while (i > 0 && (list[i - 1] as Entry<T>).deadlineAt > e.deadlineAt) i--;
    list.splice(i, 0, e);
    this.count++;
    return displaced === undefined ? { ok: true } : { ok: true, displaced };
  }

  remove(e: Entry<T>): boolean {
    const c = this.cls(e.priority);
    const list = c.byTenant.get(e.tenant);
    const i = list?.indexOf(e) ?? -1;
    if (list === undefined || i < 0) return false;
    list.splice(i, 1);
    this.count--;
    if (list.length === 0) {
      c.byTenant.delete(e.tenant);
      const at = c.order.indexOf(e.tenant);
      c.order.splice(at, 1);
      if (at < c.turn) c.turn--;
      if (c.turn >= c.order.length) c.turn = 0;
    }
    return true;
  }

  /** Removes a served entry and passes the turn to the next tenant of its class. */
  served(e: Entry<T>): void {
    const c = this.cls(e.priority);
    const at = c.order.indexOf(e.tenant);
    const stays = (c.byTenant.get(e.tenant)?.length ?? 0) > 1;
    this.remove(e);
    if (c.order.length === 0) return;
    // The turn goes to whoever follows the served tenant (its own index if it left the rotation).
    c.turn = (stays ? at + 1 : at) % c.order.length;
  }

  /** Every entry in the order it would be served. */
  *inOrder(): Generator<Entry<T>> {
    for (const p of PRIORITIES) {
      const c = this.cls(p);
      const n = c.order.length;
      if (n === 0) continue;
      const cursors = c.order.map(() => 0);
      let left = 0;
      for (const list of c.byTenant.values()) left += list.length;
      for (let round = 0; left > 0; round++) {
        for (let k = 0; k < n; k++) {
          const t = (c.turn + k) % n;
          const list = c.byTenant.get(c.order[t] as string) as Entry<T>[];
          const j = cursors[t] as number;
          if (j < list.length) {
            cursors[t] = j + 1;
            left--;
            yield list[j] as Entry<T>;
          }
        }
      }
    }
  }

  /** How many entries would be served before a newcomer of class `p` (its own class and above). */
  aheadOf(p: Priority): number {
    let n = 0;
    for (const q of PRIORITIES) {
      n += this.sizeOf(q);
      if (q === p) break;
    }
    return n;
  }

  /** The entry to drop for a newcomer of class `p`: the latest deadline of the lowest class below `p`. */
  private victimBelow(p: Priority): Entry<T> | undefined {
    for (let i = PRIORITIES.length - 1; PRIORITIES[i] !== p && i >= 0; i--) {
      let victim: Entry<T> | undefined;
      for (const list of this.cls(PRIORITIES[i] as Priority).byTenant.values()) {
        const last = list[list.length - 1];
        if (last !== undefined && (victim === undefined || last.deadlineAt > victim.deadlineAt)) victim = last;
      }
      if (victim !== undefined) return victim;
    }
    return undefined;
  }

  private cls(p: Priority): ClassQueue<T> {
    return this.classes.get(p) as ClassQueue<T>;
  }
}
