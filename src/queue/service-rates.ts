import { WindowCounter } from '../window-counter.ts';

/**
 * How far the short window's drain rate must move from the long window's before it is believed at once: beyond the
 * noise of a few seconds' completions (±3% measured at ~50 answers/s with max_tokens varying threefold).
 */
const CHANGE_SHARE = 0.1;
/**
 * Up to this far apart the long window is believed; between this and `CHANGE_SHARE` the two are blended. A switch
 * at one threshold was a step: when the short window came back within 10% of a long one still holding an outage,
 * the whole backlog's finish moved 10% at once, and the next high request displaced as many lower ones as that
 * step needed, 12–46 at one instant (`spillway demo`, the late refusals of its burst).
 */
const NOISE_SHARE = 0.05;
/** Saturated time (someone waiting) in the window from which the measured drain rate is trusted. */
const MIN_BUSY_MS = 1_000;
/** ...and answers completed in it. */
const MIN_BUSY_COMPLETIONS = 5;

/**
 * What the queue knows about its drain rate μ. While requests wait, every freed slot is handed on at once, so the
 * answers completed per second of saturated time ARE the drain rate: that is measured first, and it stays honest
 * when learned limits swing or upstreams queue internally (a peak of leases held over a mean hold time then
 * overstates it by a tenth or more). Before enough saturated time, Little's law gives it: the leases in flight over
 * the mean time a lease is held. (A count of all past completions would measure demand, not capacity: before a
 * burst the upstreams were half idle, and the rate says so for a whole window after the burst has filled every
 * slot.) Arrivals are counted too, so a refusal can say when trying again is worth it.
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
  /** The same over the long window (see `slotMs`). */
  private readonly longBusyMs: WindowCounter;
  private readonly longBusyCompleted: WindowCounter;
  /** While saturated: the time up to which busy time has been counted. */
  private busyMark: number | undefined;

  constructor(windowMs: number, now: number, longWindowMs = 4 * windowMs) {
    this.windowMs = windowMs;
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

  /** A new request (not a retry) started looking for a slot. */
  arrival(now: number): void {
    this.since ??= now;
    this.arrivals.add(now);
  }

  /**
   * An answer completed after its lease was held `ms`. The mean over a window, not a per-answer EWMA: with dozens
   * of answers a second and max_tokens that differ threefold, an EWMA wanders ±15% from one tick to the next.
   */
  served(ms: number, now: number): void {
    this.heldMs.add(now, ms);
    this.completed.add(now);
    if (this.busyMark !== undefined) {
      this.countBusy(now);
      this.busyCompleted.add(now);
      this.longBusyCompleted.add(now);
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
   * Mean time (ms) between two slots freeing when every held lease is busy: measured over saturated time when there
   * is enough of it, else from Little's law; 0 until an answer has completed.
   *
   * Two windows: the door predicts when a backlog of many seconds drains, which the long window's rate foretells
   * better than the short one's (a few seconds of completions wander ±3%, and each wobble moved the whole backlog's
   * finish past a high request's deadline: it then displaced lower work admitted a moment before, a late refusal).
   * The short window wins as soon as it moves beyond that noise: an upstream failed or came back. Between the noise
   * and a change the two are blended, so the estimate never jumps when the short window crosses a threshold.
   */
  slotMs(now: number): number {
    const short = this.recentSlotMs(now);
    if (short !== undefined) {
      const long = measured(this.longBusyMs.total(now), this.longBusyCompleted.total(now));
      if (long === undefined) return short;
      const moved = Math.abs(short - long) / long;
      const shortShare = Math.min(1, Math.max(0, (moved - NOISE_SHARE) / (CHANGE_SHARE - NOISE_SHARE)));
      return long + shortShare * (short - long);
    }
    const service = this.serviceMs(now);
    if (service === 0 || this.peakInFlight <= 0) return 0;
    return service / this.peakInFlight;
  }

  /** The short window's drain rate alone (ms between slots freeing), once it has enough saturated time. */
  recentSlotMs(now: number): number | undefined {
    this.countBusy(now);
    return measured(this.busyMs.total(now), this.busyCompleted.total(now));
  }

  private countBusy(now: number): void {
    if (this.busyMark === undefined || now <= this.busyMark) return;
    this.busyMs.add(now, now - this.busyMark);
    this.longBusyMs.add(now, now - this.busyMark);
    this.busyMark = now;
  }

  /** New requests per second over the window. */
  arrivalRate(now: number): number {
    if (this.since === undefined) return 0;
    const spanS = Math.min(this.windowMs, Math.max(1000, now - this.since)) / 1000;
    return this.arrivals.total(now) / spanS;
  }
}

/** Time between two slots freeing, from saturated time and the answers completed in it, once there is enough. */
function measured(busyMs: number, done: number): number | undefined {
  return busyMs >= MIN_BUSY_MS && done >= MIN_BUSY_COMPLETIONS ? busyMs / done : undefined;
}
