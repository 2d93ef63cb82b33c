import { WindowCounter } from '../window-counter.ts';
import { PRIORITIES, type Priority } from './scheduler.ts';

/**
 * What the queue knows about its drain rate, to tell a waiting request honestly whether it will be served in time.
 * Under strict priority a class only gets what the classes above it leave: its rate is the grant rate μ minus the
 * arrival rates λ of the higher classes. In a sustained overload that is ≤ 0 for the low class, and a low request
 * is refused at the door instead of waiting for a slot that will never come.
 *
 * Pure: time is passed in.
 */
export class ServiceRates {
  private readonly windowMs: number;
  private readonly grants: WindowCounter;
  private readonly arrivals = new Map<Priority, WindowCounter>();
  private since: number | undefined;
  private serviceEwmaMs = 0;

  constructor(windowMs: number, now: number) {
    this.windowMs = windowMs;
    this.grants = new WindowCounter(windowMs, now);
    for (const p of PRIORITIES) this.arrivals.set(p, new WindowCounter(windowMs, now));
  }

  arrival(p: Priority, now: number): void {
    this.since ??= now;
    this.arrivals.get(p)?.add(now);
  }

  grant(now: number): void {
    this.since ??= now;
    this.grants.add(now);
  }

  /** How long a lease was held: an answer's whole service time. */
  served(ms: number): void {
    this.serviceEwmaMs = this.serviceEwmaMs === 0 ? ms : 0.9 * this.serviceEwmaMs + 0.1 * ms;
  }

  get serviceMs(): number {
    return this.serviceEwmaMs;
  }

  /**
   * Slots per second class `p` can expect; undefined until an answer has completed: before that the grant rate
   * only counts the first slots filled, not how fast they drain, and nobody is refused on a guess.
   */
  classRate(p: Priority, now: number): number | undefined {
    if (this.serviceEwmaMs === 0) return undefined;
    const mu = this.perSecond(this.grants, now);
    if (mu === undefined || mu === 0) return undefined;
    let rate = mu;
    for (const q of PRIORITIES) {
      if (q === p) break;
      rate -= this.perSecond(this.arrivals.get(q) as WindowCounter, now) ?? 0;
    }
    return rate;
  }

  /** Expected wait (ms) behind `ahead` requests for class `p`: Infinity when the class gets nothing. */
  waitMs(p: Priority, ahead: number, now: number): number {
    if (ahead <= 0) return 0;
    const rate = this.classRate(p, now);
    if (rate === undefined) return 0;
    return rate <= 0 ? Infinity : (1000 * ahead) / rate;
  }

  private perSecond(c: WindowCounter, now: number): number | undefined {
    if (this.since === undefined) return undefined;
    const spanMs = Math.min(this.windowMs, Math.max(1000, now - this.since));
    return c.total(now) / (spanMs / 1000);
  }
}
