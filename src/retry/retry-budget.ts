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

  /**
   * Takes one retry from the budget if there is one (`open`: requests still open, see `available`). The retry is
   * charged to `depositedAt`, when its request made its first attempt (default: now): a retry counts against the
   * deposits of its own cohort, so retries due seconds after their requests began (a stall found by its idle
   * timeout, a continuation's own stall) are not weighed against the deposits of a later, smaller cohort — at the end
   * of a burst, when arrivals stop, that mismatch refused exactly the retries the burst's last requests needed.
   */
  tryRetry(now: number, open = 0, depositedAt = now): boolean {
    if (this.available(now, open) < 1) return false;
    this.retries.addAt(now, Math.min(now, depositedAt));
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
