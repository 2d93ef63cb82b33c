import { percentile } from '../percentile.ts';

/**
 * The last `size` samples of a latency (a ring), and their percentiles. A sorted copy is kept up to date as samples
 * come and go (the one leaving the ring taken out, the new one put in, each found by binary search and moved by one
 * `copyWithin`), so a percentile is a lookup: cheaper than re-sorting a copy every few samples, which cost about 2%
 * of the gateway's CPU per stream request, and never stale. Samples given the time they were taken, in time order,
 * can also be forgotten by age (`forgetBefore`), from the oldest end, the same way.
 */
export class RecentSamples {
  private readonly ring: Float64Array;
  private readonly takenAt: Float64Array;
  private readonly sorted: Float64Array;
  private n = 0;
  private next = 0;

  constructor(size = 200) {
    this.ring = new Float64Array(size);
    this.takenAt = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }

  get count(): number {
    return this.n;
  }

  /** A sample, taken at `at` (ms; only `forgetBefore` reads it). */
  add(ms: number, at = 0): void {
    if (Number.isNaN(ms)) return; // no place in the order: it would break the binary searches
    if (this.n === this.ring.length) this.dropOldest();
    const sorted = this.sorted;
    const i = lowerBound(sorted, this.n, ms);
    sorted.copyWithin(i + 1, i, this.n);
    sorted[i] = ms;
    this.n++;
    this.ring[this.next] = ms;
    this.takenAt[this.next] = at;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** Forgets the samples taken before `t`. */
  forgetBefore(t: number): void {
    while (this.n > 0 && (this.takenAt[this.oldest()] as number) < t) this.dropOldest();
  }

  /** The p-th percentile, or undefined with fewer than `minSamples` samples. */
  percentile(p: number, minSamples: number): number | undefined {
    if (this.n < minSamples || this.n === 0) return undefined;
    return percentile(this.sorted.subarray(0, this.n), p);
  }

  private oldest(): number {
    return (this.next - this.n + this.ring.length) % this.ring.length;
  }

  private dropOldest(): void {
    const gone = lowerBound(this.sorted, this.n, this.ring[this.oldest()] as number);
    this.sorted.copyWithin(gone, gone + 1, this.n);
    this.n--;
  }
}

/** The first index in `sorted[0, n)` whose value is not below `v`. */
function lowerBound(sorted: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
