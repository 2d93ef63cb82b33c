/**
 * How many job items this instance may have in flight, and whether one more may start now (pure).
 *
 * Three gates, all needed:
 * - spare room: nothing interactive waits in the admission queue, and our items plus the interactive load (at its
 *   recent peak) stay under `sparePercent` of the upstreams' capacity, so an interactive arrival finds a free slot
 *   instead of queueing behind a batch;
 * - the gateway's own CPU: while its event loop runs late, every interactive request already waits for it;
 * - AIMD on pushback: each pushback (429/503, a full queue) halves the background limit, each success adds one
 *   step back, up to `max` (TCP-style: a busy upstream sheds background work first, and it returns gradually).
 *
 * Hand-written: the policy is the product's own (no library knows the gateway's queue or capacity), and it is small.
 */
export class BackgroundLimit {
  private readonly max: number;
  private value: number;
  private lastDecreaseAt = -Infinity;
  private readonly decreaseIntervalMs: number;

  constructor(max: number, decreaseIntervalMs = 1000) {
    this.max = max;
    this.value = Math.max(1, Math.min(max, 4));
    this.decreaseIntervalMs = decreaseIntervalMs;
  }

  get limit(): number {
    return Math.floor(this.value);
  }

  success(): void {
    // Additive increase of about one per `limit` successes: one more item per round trip's worth of answers.
    this.value = Math.min(this.max, this.value + 1 / Math.max(1, this.value) + 0.5);
  }

  /** Pushback within `decreaseIntervalMs` of the last decrease is the same overload and counts once. */
  pushback(now: number): void {
    if (now - this.lastDecreaseAt < this.decreaseIntervalMs) return;
    this.lastDecreaseAt = now;
    this.value = Math.max(1, this.value / 2);
  }
}

export interface RoomInput {
  /** Job items this instance has in flight (some may not have reached an upstream yet). */
  running: number;
  /** The AIMD limit. */
  limit: number;
  /** Interactive requests waiting in the admission queue. */
  interactiveWaiting: number;
  /** Requests in flight to every upstream (interactive and background). */
  inFlight: number;
  /** The most interactive requests in flight at once lately (jobs.headroom_window): room for the next burst. */
  interactivePeak: number;
  /** Summed concurrency caps (learned limits) of every upstream. */
  capacity: number;
  sparePercent: number;
  /** How late the gateway's event loop runs (ms), and the most background work may add to. */
  loopLagMs: number;
  maxLoopLagMs: number;
}

/**
 * How many more items may start now. Interactive load is the larger of what is in flight now (everything minus
 * our own items — an item that has not reached an upstream yet still counts as ours, so a burst of launches cannot
 * overshoot) and its recent peak: an item holds its slot for a whole answer, so it must leave room for the next
 * interactive burst, not only for the current load, or that burst waits behind it.
 */
export function spareRoom(r: RoomInput): number {
  if (r.interactiveWaiting > 0 || r.loopLagMs > r.maxLoopLagMs) return 0;
  const interactive = Math.max(0, r.inFlight - r.running, r.interactivePeak);
  const share = Math.floor((r.capacity * r.sparePercent) / 100) - interactive;
  return Math.max(0, Math.min(r.limit, share) - r.running);
}
