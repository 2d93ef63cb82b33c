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

const BUCKETS = 10;

export class RetryBudget {
  private readonly s: RetryBudgetSettings;
  private readonly bucketMs: number;
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private bucketStart = 0;
  private current = 0;

  constructor(s: RetryBudgetSettings, now: number) {
    this.s = s;
    this.bucketMs = s.windowMs / BUCKETS;
    this.bucketStart = now;
  }

  /** A first attempt was made: it deposits `ratio` of a retry. */
  recordRequest(now: number): void {
    this.roll(now);
    this.requests[this.current]!++;
  }

  /** Takes one retry from the budget if there is one. */
  tryRetry(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.retries[this.current]!++;
    return true;
  }

  /** Whole retries left in the window (for metrics and decisions that only look). */
  available(now: number): number {
    this.roll(now);
    const req = this.requests.reduce((a, b) => a + b, 0);
    const ret = this.retries.reduce((a, b) => a + b, 0);
    return Math.floor(this.s.ratio * req + (this.s.minPerSecond * this.s.windowMs) / 1000 - ret);
  }

  private roll(now: number): void {
    let steps = Math.floor((now - this.bucketStart) / this.bucketMs);
    if (steps <= 0) return;
    this.bucketStart += steps * this.bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.current = (this.current + 1) % BUCKETS;
      this.requests[this.current] = 0;
      this.retries[this.current] = 0;
    }
  }
}
