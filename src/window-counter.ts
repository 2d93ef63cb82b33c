/**
 * Counts events over a sliding window of ten buckets, on time passed in (never read from a clock), so the policies
 * built on it (retry budgets, failure-rate breakers) stay pure and are tested with a fake clock.
 */
const BUCKETS = 10;

export class WindowCounter {
  private readonly bucketMs: number;
  private readonly counts = new Array<number>(BUCKETS).fill(0);
  private bucketStart: number;
  private current = 0;

  constructor(windowMs: number, now: number) {
    this.bucketMs = windowMs / BUCKETS;
    this.bucketStart = now;
  }

  add(now: number, n = 1): void {
    this.roll(now);
    this.counts[this.current] = (this.counts[this.current] ?? 0) + n;
  }

  /**
   * Counts an event that belongs to an earlier time `at` (≤ now): it leaves the window when `at` does. One older
   * than the window counts in its oldest bucket, so it is never free.
   */
  addAt(now: number, at: number, n = 1): void {
    this.roll(now);
    const back = at >= this.bucketStart ? 0 : Math.min(BUCKETS - 1, Math.ceil((this.bucketStart - at) / this.bucketMs));
    const i = (this.current - back + BUCKETS) % BUCKETS;
    this.counts[i] = (this.counts[i] ?? 0) + n;
  }

  total(now: number): number {
    this.roll(now);
    let t = 0;
    for (const c of this.counts) t += c;
    return t;
  }

  reset(): void {
    this.counts.fill(0);
  }

  private roll(now: number): void {
    let steps = Math.floor((now - this.bucketStart) / this.bucketMs);
    if (steps <= 0) return;
    this.bucketStart += steps * this.bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.current = (this.current + 1) % BUCKETS;
      this.counts[this.current] = 0;
    }
  }
}
