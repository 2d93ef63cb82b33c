/**
 * The simulated server's capacity: `slots` requests are served at once, `queueSize` more wait in FIFO order, the
 * rest are refused. Pure bookkeeping — no timers, no sockets — so the handler owns time (queue timeout,
 * keep-alives) and this stays table-testable.
 *
 * A released slot passes straight to the oldest waiter, so a request arriving at that moment cannot jump the queue.
 */
export type Acquired =
  { readonly kind: 'granted' } | { readonly kind: 'full' } | { readonly kind: 'queued'; readonly cancel: () => void };

interface Waiter {
  grant: () => void;
  live: boolean;
}

export class SlotPool {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  private waiting = 0;
  private readonly slots: number;
  private readonly queueSize: number;

  constructor(slots: number, queueSize: number) {
    this.slots = slots;
    this.queueSize = queueSize;
  }

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting;
  }

  /** Takes a slot now, or queues `onGrant` to run when one passes to this request, or says the server is full. */
  acquire(onGrant: () => void): Acquired {
    if (this.used < this.slots && this.waiting === 0) {
      this.used++;
      return { kind: 'granted' };
    }
    if (this.waiting >= this.queueSize) return { kind: 'full' };
    const waiter: Waiter = { grant: onGrant, live: true };
    this.waiters.push(waiter);
    this.waiting++;
    return {
      kind: 'queued',
      cancel: () => {
        if (!waiter.live) return;
        // Left in the array and skipped on release: cancelling is O(1) and the array drains as slots free.
        waiter.live = false;
        this.waiting--;
      },
    };
  }

  /** Gives a slot back; the oldest live waiter, if any, gets it (its onGrant runs synchronously). */
  release(): void {
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      if (!w.live) continue;
      w.live = false;
      this.waiting--;
      w.grant();
      return;
    }
    this.used--;
  }
}
