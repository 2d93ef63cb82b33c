import { WindowCounter } from '../window-counter.ts';

/**
 * Decides when the gateway is under enough pressure to degrade gracefully: the wait queue is deeper than
 * `queueDepth`, or more than `shedPercent` of recent requests were refused. Pure: time and depth passed in.
 */
export interface DegradeThresholds {
  queueDepth: number | null;
  shedPercent: number | null;
  windowMs: number;
}

/** Below this many requests in the window, a shed percentage means nothing. */
const MIN_REQUESTS = 20;

export class DegradeMonitor {
  private readonly t: DegradeThresholds;
  private readonly arrivals: WindowCounter;
  private readonly sheds: WindowCounter;

  constructor(t: DegradeThresholds, now: number) {
    this.t = t;
    this.arrivals = new WindowCounter(t.windowMs, now);
    this.sheds = new WindowCounter(t.windowMs, now);
  }

  arrival(now: number): void {
    this.arrivals.add(now);
  }

  shed(now: number): void {
    this.sheds.add(now);
  }

  active(queueDepth: number, now: number): boolean {
    if (this.t.queueDepth !== null && queueDepth >= this.t.queueDepth) return true;
    if (this.t.shedPercent === null) return false;
    const n = this.arrivals.total(now);
    return n >= MIN_REQUESTS && (100 * this.sheds.total(now)) / n >= this.t.shedPercent;
  }
}
