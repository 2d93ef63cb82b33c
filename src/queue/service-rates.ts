import { WindowCounter } from '../window-counter.ts';

/**
 * What the queue knows about its drain rate. The drain rate μ comes from Little's law: the leases in flight over
 * the mean time a lease is held. (A count of past grants would measure demand, not capacity: before a burst the
 * upstreams were half idle, and the grant rate says so for a whole window after the burst has filled every slot.)
 * Arrivals are counted too, so a refusal can say when trying again is worth it.
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

  constructor(windowMs: number, now: number) {
    this.windowMs = windowMs;
    this.heldMs = new WindowCounter(windowMs, now);
    this.completed = new WindowCounter(windowMs, now);
    this.arrivals = new WindowCounter(windowMs, now);
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

  /** Mean time (ms) between two slots freeing when every held lease is busy; 0 until an answer has completed. */
  slotMs(now: number): number {
    const service = this.serviceMs(now);
    if (service === 0 || this.peakInFlight <= 0) return 0;
    return service / this.peakInFlight;
  }

  /** New requests per second over the window. */
  arrivalRate(now: number): number {
    if (this.since === undefined) return 0;
    const spanS = Math.min(this.windowMs, Math.max(1000, now - this.since)) / 1000;
    return this.arrivals.total(now) / spanS;
  }
}
