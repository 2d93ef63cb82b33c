import { WindowCounter } from '../window-counter.ts';

/**
 * How far the short window's drain rate must move from the long window's before it is believed at once: beyond the
 * noise of a few seconds' completions (±3% measured at ~50 answers/s with max_tokens varying threefold), and never
 * less than twice the noise band below.
 */
const CHANGE_SHARE = 0.1;
/**
 * Up to this far apart the long window is believed; between this and the change share the two are blended. A switch
 * at one threshold was a step: when the short window came back within 10% of a long one still holding an outage,
 * the whole backlog's finish moved 10% at once, and the next high request displaced as many lower ones as that
 * step needed, 12–46 at one instant (`spillway demo`, the late refusals of its burst). The band is at least the
 * short window's own counting noise, 1/√n of its n answers (see `drain`).
 */
const NOISE_SHARE = 0.05;
/** Saturated time (someone waiting) in the window from which the measured drain rate is trusted. */
const MIN_BUSY_MS = 1_000;
/** ...and answers completed in it. */
const MIN_BUSY_COMPLETIONS = 5;

/** One upstream's part of the drain, over both windows: its answers, and the saturated time it was out of rotation. */
interface UpstreamDrain {
  done: WindowCounter;
  outMs: WindowCounter;
  longDone: WindowCounter;
  longOutMs: WindowCounter;
}

/**
 * What the queue knows about its drain rate μ. While requests wait, every freed slot is handed on at once, so the
 * answers completed per second of saturated time ARE the drain rate: that is measured first, and it stays honest
 * when learned limits swing or upstreams queue internally (a peak of leases held over a mean hold time then
 * overstates it by a tenth or more). Before enough saturated time, Little's law gives it: the leases in flight over
 * the mean time a lease is held. (A count of all past completions would measure demand, not capacity: before a
 * burst the upstreams were half idle, and the rate says so for a whole window after the burst has filled every
 * slot.) Arrivals are counted too, so a refusal can say when trying again is worth it.
 *
 * The drain is the sum of each upstream's: its answers over the saturated time it was in rotation. An upstream
 * taken out of rotation (passive health ejected it, an operator drained it) leaves the sum at once, and comes back
 * into it at its own measured rate when it returns. A pooled rate followed the loss only as its window filled with
 * the outage, and the return as the window emptied of it: in between the door admitted for seconds on a fleet it
 * no longer had, and refused for seconds on one it had again (`spillway demo`: upstream `c` down for 8 s, late
 * refusals of work admitted at its loss).
 *
 * Pure: time is passed in.
 */
export class ServiceRates {
  private readonly windowMs: number;
  private readonly arrivals: WindowCounter;
  /** Hold times of the answers completed over the current window, and how many: their mean is the service time. */
  private readonly heldMs: WindowCounter;
  private readonly completed: WindowCounter;
  private lastServiceMs = 0;
  private peakInFlight = 0;
  private peakAt = 0;
  private since: number | undefined;
  /** Saturated time and the answers completed in it, over the window. */
  private readonly busyMs: WindowCounter;
  private readonly busyCompleted: WindowCounter;
  /** The same over the long window (see `drain`). */
  private readonly longBusyMs: WindowCounter;
  private readonly longBusyCompleted: WindowCounter;
  /** While saturated: the time up to which busy time has been counted. */
  private busyMark: number | undefined;
  private readonly longWindowMs: number;
  /** Each upstream's part, by name (an answer with no upstream named counts under ''). */
  private readonly upstreams = new Map<string, UpstreamDrain>();
  /** Upstreams out of rotation now. */
  private out: ReadonlySet<string> = new Set();

  /** When the windows began: an upstream's counters share their buckets with the saturated time's. */
  private readonly origin: number;

  constructor(windowMs: number, now: number, longWindowMs = 4 * windowMs) {
    this.windowMs = windowMs;
    this.longWindowMs = longWindowMs;
    this.origin = now;
    this.longBusyMs = new WindowCounter(longWindowMs, now);
    this.longBusyCompleted = new WindowCounter(longWindowMs, now);
    this.heldMs = new WindowCounter(windowMs, now);
    this.completed = new WindowCounter(windowMs, now);
    this.arrivals = new WindowCounter(windowMs, now);
    this.busyMs = new WindowCounter(windowMs, now);
    this.busyCompleted = new WindowCounter(windowMs, now);
  }

  /** Whether requests wait for a slot now (the queue says so whenever its depth changes). */
  saturated(busy: boolean, now: number): void {
    this.countBusy(now);
    this.busyMark = busy ? now : undefined;
  }

  /**
   * The upstreams out of rotation from now on (the queue says so whenever it reads the pace). An upstream not named
   * here, and one never heard of, is in rotation.
   */
  outOfRotation(names: ReadonlySet<string>, now: number): void {
    if (names.size === this.out.size && sameMembers(names, this.out)) return;
    this.countBusy(now);
    this.out = names;
  }

  /** A new request (not a retry) started looking for a slot. */
  arrival(now: number): void {
    this.since ??= now;
    this.arrivals.add(now);
  }

  /**
   * An answer completed after its lease was held `ms`. The mean over a window, not a per-answer EWMA: with dozens
   * of answers a second and max_tokens that differ threefold, an EWMA wanders ±15% from one tick to the next.
   */
  served(ms: number, now: number, upstream = ''): void {
    this.heldMs.add(now, ms);
    this.completed.add(now);
    if (this.busyMark !== undefined) {
      this.countBusy(now);
      this.busyCompleted.add(now);
      this.longBusyCompleted.add(now);
      const u = this.drainOf(upstream);
      u.done.add(now);
      u.longDone.add(now);
    }
    this.lastServiceMs = this.serviceMs(now);
  }

  /** Mean service time (ms) over the window; the last known one when nothing completed in it; 0 before any. */
  serviceMs(now: number): number {
    const n = this.completed.total(now);
    return n === 0 ? this.lastServiceMs : this.heldMs.total(now) / n;
  }

  /**
   * Leases held now. The drain rate uses the most held over the window: a slot that rests for a Retry-After or
   * between two grants is back in seconds, and an estimate that halves whenever one account rests would drop, for
   * good, waiting requests that would have been served.
   */
  holding(n: number, now: number): void {
    if (n >= this.peakInFlight || now - this.peakAt > this.windowMs) {
      this.peakInFlight = n;
      this.peakAt = now;
    }
  }

  /**
   * `slotMs`: the mean time (ms) between two slots freeing when every held lease is busy: measured over saturated
   * time when there is enough of it, else from Little's law; 0 until an answer has completed. `recentSlotMs`: the
   * short window's alone, once measured (the queue reads both on every pump, the short window once).
   *
   * Two windows: the door predicts when a backlog of many seconds drains, which the long window's rate foretells
   * better than the short one's (a few seconds of completions wander ±3%, and each wobble moved the whole backlog's
   * finish past a high request's deadline: it then displaced lower work admitted a moment before, a late refusal).
   * The short window wins as soon as it moves beyond that noise: an upstream failed or came back. Between the noise
   * and a change the two are blended, so the estimate never jumps when the short window crosses a threshold.
   */
  drain(now: number): { slotMs: number; recentSlotMs: number | undefined } {
    const short = this.recentSlotMs(now);
    if (short !== undefined) {
      const long = measured(this.longBusyMs.total(now), this.longBusyCompleted.total(now))
        ? this.drainSlotMs(now, 'long')
        : undefined;
      if (long === undefined) return { slotMs: short, recentSlotMs: short };
      const moved = Math.abs(short - long) / long;
      // A count of n answers wanders by about 1/√n of itself: at a few answers a second (Ollama servers of 4 slots
      // writing whole answers: ~45 in 5 s, ±15%) a fixed 5–10% band sat inside that noise. The short window crossed
      // it and came back within a second (a slot of 111 → 126 → 111 ms), and at each crossing the next high request
      // displaced 9–13 waiting requests the backlog, read a moment later, had room for.
      const noise = Math.max(NOISE_SHARE, 1 / Math.sqrt(this.busyCompleted.total(now)));
      const change = Math.max(CHANGE_SHARE, 2 * noise);
      const shortShare = Math.min(1, Math.max(0, (moved - noise) / (change - noise)));
      return { slotMs: long + shortShare * (short - long), recentSlotMs: short };
    }
    const service = this.serviceMs(now);
    return { slotMs: service === 0 || this.peakInFlight <= 0 ? 0 : service / this.peakInFlight, recentSlotMs: short };
  }

  /** The short window's drain rate alone (ms between slots freeing), once it has enough saturated time. */
  private recentSlotMs(now: number): number | undefined {
    this.countBusy(now);
    return measured(this.busyMs.total(now), this.busyCompleted.total(now)) ? this.drainSlotMs(now, 'short') : undefined;
  }

  /**
   * Time between two slots freeing on the upstreams in rotation now: the inverse of the sum of their drain rates,
   * each its answers over the saturated time it was in rotation; undefined when none of them drained anything. An
   * upstream back in rotation too recently for the short window counts at its long window's rate: the rate it had.
   */
  private drainSlotMs(now: number, window: 'short' | 'long'): number | undefined {
    const busyMs = this.busyMs.total(now);
    const longBusyMs = this.longBusyMs.total(now);
    let perMs = 0;
    for (const [name, u] of this.upstreams) {
      if (this.out.has(name)) continue;
      const inMs = busyMs - u.outMs.total(now);
      const longInMs = longBusyMs - u.longOutMs.total(now);
      if (window === 'short' && inMs >= MIN_BUSY_MS) perMs += u.done.total(now) / inMs;
      else if (longInMs >= MIN_BUSY_MS) perMs += u.longDone.total(now) / longInMs;
    }
    return perMs > 0 ? 1 / perMs : undefined;
  }

  private drainOf(name: string): UpstreamDrain {
    let u = this.upstreams.get(name);
    if (u === undefined) {
      u = {
        done: new WindowCounter(this.windowMs, this.origin),
        outMs: new WindowCounter(this.windowMs, this.origin),
        longDone: new WindowCounter(this.longWindowMs, this.origin),
        longOutMs: new WindowCounter(this.longWindowMs, this.origin),
      };
      this.upstreams.set(name, u);
    }
    return u;
  }

  private countBusy(now: number): void {
    if (this.busyMark === undefined || now <= this.busyMark) return;
    const ms = now - this.busyMark;
    this.busyMs.add(now, ms);
    this.longBusyMs.add(now, ms);
    for (const name of this.out) {
      const u = this.drainOf(name);
      u.outMs.add(now, ms);
      u.longOutMs.add(now, ms);
    }
    this.busyMark = now;
  }

  /** New requests per second over the window. */
  arrivalRate(now: number): number {
    if (this.since === undefined) return 0;
    const spanS = Math.min(this.windowMs, Math.max(1000, now - this.since)) / 1000;
    return this.arrivals.total(now) / spanS;
  }
}

/** Whether a window holds enough saturated time, and answers completed in it, to measure the drain rate. */
function measured(busyMs: number, done: number): boolean {
  return busyMs >= MIN_BUSY_MS && done >= MIN_BUSY_COMPLETIONS;
}

/** Whether every member of `a` is in `b` (with equal sizes: the same set). */
function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
