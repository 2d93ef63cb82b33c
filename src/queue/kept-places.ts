import { PRIORITY_RANK, type Priority } from '../priority.ts';

/** Places kept at once, at most: each comes from a refusal, and a flood of refusals must not become unbounded state. */
const MAX_KEPT = 256;
/** How long after the time its Retry-After named a place waits for its client (at least; ms). */
const GRACE_MS = 1_000;
/** …and as a share of that Retry-After: a client's clock and its way back take longer on a longer wait. */
const GRACE_SHARE = 0.25;

interface Kept {
  priority: Priority;
  /** Until then the place is kept; a client not back by then is not coming. */
  until: number;
  /** The request's expected hold time over the mean one (its length factor). */
  work: number;
}

/**
 * Places kept for clients that will come back at the Retry-After we gave them. An official OpenAI SDK retries a
 * refused request once the Retry-After has passed, with the same body and `x-stainless-retry-count` one higher;
 * when it comes back it keeps no headroom (admission-queue.ts), but the newcomers that arrived meanwhile filled the
 * queue to their own class's line. Without a kept place the return either meets a second refusal — our Retry-After a
 * lie — or takes the place of an admitted request: a late refusal, the worst answer a client can get
 * (`sustained --sdk-retries` with low's headroom at 2.5%: 17–23 of them, refusals p90 1.1–2.7 s).
 *
 * So a refusal of a client that will retry keeps its work clear: newcomers of its class and below, arriving before it
 * is back, count the place as work ahead of them (room they leave, like their class's headroom), and the return
 * claims it. A place whose client does not come back lapses a little after the time it was given. A higher class
 * never counts a lower one's place: priority still decides who is refused when not everyone fits.
 *
 * Hand-written: the product's own admission policy. Pure: time is passed in.
 */
export class KeptPlaces {
  private places: Kept[] = [];
  private readonly onLapse: (priority: Priority) => void;

  /** `onLapse`: told of each place whose client did not come back in time (the metrics). */
  constructor(onLapse: (priority: Priority) => void = () => {}) {
    this.onLapse = onLapse;
  }

  /** Keeps a place of `work` for a `priority` client told at `now` to come back at `returnAt`; false when full. */
  keep(priority: Priority, returnAt: number, work: number, now: number): boolean {
    this.lapse(now);
    if (this.places.length >= MAX_KEPT) return false;
    const until = returnAt + Math.max(GRACE_MS, GRACE_SHARE * (returnAt - now));
    this.places.push({ priority, until, work });
    return true;
  }

  /** A client is back at our Retry-After: the place kept the longest for its class is its own (false: none kept). */
  claim(priority: Priority, now: number): boolean {
    this.lapse(now);
    const i = this.places.findIndex((p) => p.priority === priority);
    if (i < 0) return false;
    this.places.splice(i, 1);
    return true;
  }

  /** The work a `priority` newcomer leaves clear for returns of its class and above (in mean answers). */
  workFor(priority: Priority, now: number): number {
    this.lapse(now);
    const rank = PRIORITY_RANK[priority];
    let work = 0;
    for (const p of this.places) if (PRIORITY_RANK[p.priority] <= rank) work += p.work;
    return work;
  }

  /** Places kept now. */
  size(now: number): number {
    this.lapse(now);
    return this.places.length;
  }

  private lapse(now: number): void {
    if (!this.places.some((p) => p.until <= now)) return;
    const left: Kept[] = [];
    for (const p of this.places)
      if (p.until > now) left.push(p);
      else this.onLapse(p.priority);
    this.places = left;
  }
}
