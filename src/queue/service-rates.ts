import { WindowCounter } from '../window-counter.ts';
import { PRIORITIES, type Priority } from './scheduler.ts';

/**
 * What the queue knows about its drain rate, to tell a waiting request honestly whether it will be served in time.
 * The drain rate μ comes from Little's law: the leases in flight over the mean time a lease is held. (A count of
 * past grants would measure demand, not capacity: before a burst the upstreams were half idle, and the grant rate
 * says so for a whole window after the burst has filled every slot.) Under strict priority a class only gets what
 * the classes above it leave: its rate is μ minus the arrival rates λ of the higher classes. In a sustained overload that is ≤ 0 for the low class, and a low request
 * is refused at the door instead of waiting for a slot that will never come.
 *
 * But a burst is not a sustained overload: assuming that today's burst rate lasts for the whole wait refuses, at
 * the door, requests that a few seconds of queueing would have served. So the higher classes' current rate is
 * assumed to last only as long as the surge is expected to (the queue says when its busy period began; a surge
 * that has lasted T is expected to last about T more — the Lindy / Copernican estimate — scaled by a factor, and a
 * surge younger than a burst allowance is expected to end now), and after that their rate from before the surge:
 *
 *   μ·W = ahead + λ_now·min(W, P) + λ_before·max(0, W − P)        P = factor × max(0, T − allowance)
 *
 * A sustained overload has a long busy period, so P grows and the estimate tends to the strict one; a fresh burst
 * is given the benefit of the doubt, and requests it admits that turn out infeasible are dropped by the queue's
 * re-check before their deadline.
 *
 * Pure: time is passed in.
 */
export class ServiceRates {
  private readonly windowMs: number;
  private readonly baseWindowMs: number;
  private readonly arrivals = new Map<Priority, WindowCounter>();
  private readonly baseArrivals = new Map<Priority, WindowCounter>();
  /** Arrivals per class since the current surge began (to tell the rate before it from the rate during it). */
  private readonly surgeArrivals = new Map<Priority, number>();
  private surgeAt: number | undefined;
  private since: number | undefined;
  /** Hold times of the answers completed over the current window, and how many: their mean is the service time. */
  private readonly heldMs: WindowCounter;
  private readonly completed: WindowCounter;
  private lastServiceMs = 0;
  private peakInFlight = 0;
  private peakAt = 0;

  /** `windowMs`: the window of the current rates; `baseWindowMs`: how far back the rates before a surge look. */
  constructor(windowMs: number, now: number, baseWindowMs = 12 * windowMs) {
    this.windowMs = windowMs;
    this.baseWindowMs = baseWindowMs;
    this.heldMs = new WindowCounter(windowMs, now);
    this.completed = new WindowCounter(windowMs, now);
    for (const p of PRIORITIES) {
      this.arrivals.set(p, new WindowCounter(windowMs, now));
      this.baseArrivals.set(p, new WindowCounter(baseWindowMs, now));
    }
  }

  arrival(p: Priority, now: number): void {
    this.since ??= now;
    this.arrivals.get(p)?.add(now);
    this.baseArrivals.get(p)?.add(now);
    if (this.surgeAt !== undefined) this.surgeArrivals.set(p, (this.surgeArrivals.get(p) ?? 0) + 1);
  }

  /** The queue's busy period began (requests wait for slots). */
  beginSurge(now: number): void {
    this.surgeAt = now;
    this.surgeArrivals.clear();
  }

  /** The queue has been idle long enough for the busy period to be over. */
  endSurge(): void {
    this.surgeAt = undefined;
    this.surgeArrivals.clear();
  }

  get surging(): boolean {
    return this.surgeAt !== undefined;
  }

  /** How long the current surge has lasted (ms); 0 when there is none. */
  surgeAge(now: number): number {
    return this.surgeAt === undefined ? 0 : now - this.surgeAt;
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

  /**
   * Slots per second class `p` can expect while current rates last, with `inFlight` leases held; undefined until
   * an answer has completed: before that the service time is unknown, and nobody is refused on a guess.
   */
  classRate(p: Priority, now: number): number | undefined {
    const mu = this.drainRate(now);
    return mu === undefined ? undefined : mu - this.currentRate(p, now);
  }

  /**
   * Expected wait (ms) behind `ahead` requests for class `p`. The current surge is expected to go on for
   * `surgeFactor` × (its age − `burstAllowanceMs`): a surge younger than the allowance is taken for a burst that ends
   * now. Infinity when the class will get nothing.
   */
  waitMs(p: Priority, ahead: number, now: number, surgeFactor = 1, burstAllowanceMs = 0): number {
    if (ahead <= 0) return 0;
    const mu = this.drainRate(now);
    if (mu === undefined) return 0;
    const lambdaNow = this.currentRate(p, now);
    const restS = (surgeFactor * Math.max(0, this.surgeAge(now) - burstAllowanceMs)) / 1000;
    if (mu > lambdaNow) {
      const w = ahead / (mu - lambdaNow);
      if (w <= restS) return 1000 * w;
    }
    // The surge ends before this request is served: what is left of the work ahead then drains at the rate the
    // higher classes had before it (no history before the surge: they keep their current rate).
    const lambdaBefore = Math.min(lambdaNow, this.rateBefore(p, now) ?? lambdaNow);
    if (mu <= lambdaBefore) return Infinity;
    const left = ahead + (lambdaNow - mu) * restS;
    return 1000 * (restS + left / (mu - lambdaBefore));
  }

  /** Leases finished per second when every held lease is busy (a queue forms only then). */
  private drainRate(now: number): number | undefined {
    const service = this.serviceMs(now);
    if (service === 0 || this.peakInFlight <= 0) return undefined;
    return this.peakInFlight / (service / 1000);
  }

  /** Arrivals per second of the classes above `p`, over the current window. */
  private currentRate(p: Priority, now: number): number {
    if (this.since === undefined) return 0;
    const spanS = Math.min(this.windowMs, Math.max(1000, now - this.since)) / 1000;
    return this.higher(p, (q) => (this.arrivals.get(q) as WindowCounter).total(now)) / spanS;
  }

  /** Arrivals per second of the classes above `p` before the current surge (undefined: no time before it). */
  private rateBefore(p: Priority, now: number): number | undefined {
    if (this.since === undefined) return undefined;
    const spanMs = Math.min(this.baseWindowMs, now - this.since) - this.surgeAge(now);
    if (spanMs < 1000) return undefined;
    const before = this.higher(p, (q) => (this.baseArrivals.get(q) as WindowCounter).total(now) - (this.surgeArrivals.get(q) ?? 0));
    return Math.max(0, before) / (spanMs / 1000);
  }

  private higher(p: Priority, count: (q: Priority) => number): number {
    let n = 0;
    for (const q of PRIORITIES) {
      if (q === p) break;
      n += count(q);
    }
    return n;
  }
}
