import { WindowCounter } from '../window-counter.ts';

/**
 * A retry budget (Finagle's RetryBudget, Envoy's retry_budget): over a sliding window, retries may be at most
 * `ratio` × first attempts plus a small floor (`minPerSecond` × window). When upstreams are drowning, most requests
 * fail, the budget empties, and the gateway stops multiplying load — failing fast instead of storming.
 *
 * Hand-written: a dozen lines of counting on a clock; the libraries that offer it are whole RPC frameworks.
 * Pure: time is passed in, tested with a fake clock.
 */
export interface RetryBudgetSettings {
  ratio: number;
  minPerSecond: number;
  windowMs: number;
}

export class RetryBudget {
  private readonly s: RetryBudgetSettings;
  private readonly requests: WindowCounter;
  private readonly retries: WindowCounter;

  constructor(s: RetryBudgetSettings, now: number) {
    this.s = s;
    this.requests = new WindowCounter(s.windowMs, now);
    this.retries = new WindowCounter(s.windowMs, now);
  }

  /** A first attempt was made: it deposits `ratio` of a retry. */
  recordRequest(now: number): void {
    this.requests.add(now);
  }

  /** Takes one retry from the budget if there is one (`open`: requests still open, see `available`). */
  tryRetry(now: number, open = 0): boolean {
    if (this.available(now, open) < 1) return false;
    this.retries.add(now);
    return true;
  }

  /** Whole retries left in the window; `open` requests still in flight count as deposits once the window forgot them. */
  available(now: number, open = 0): number {
    const deposits = Math.max(this.requests.total(now), open);
    return Math.floor(
      this.s.ratio * deposits + (this.s.minPerSecond * this.s.windowMs) / 1000 - this.retries.total(now),
    );
  }
}
