import { percentile } from '../percentile.ts';

/**
 * The last `size` samples of a latency (a ring), and their percentiles. Sorting on every question would cost a sort
 * of `size` numbers per request; the sorted copy is refreshed only once a twentieth of the samples are new, which moves
 * a high percentile of 200 samples by at most the 10 newest — well inside what a timeout's factor absorbs.
 */
export class RecentSamples {
  private readonly samples: number[] = [];
  private next = 0;
  private readonly size: number;
  private sorted: number[] = [];
  private fresh = 0;

  constructor(size = 200) {
    this.size = size;
  }

  get count(): number {
    return this.samples.length;
  }

  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.fresh++;
  }

  /** The p-th percentile, or undefined with fewer than `minSamples` samples. */
  percentile(p: number, minSamples: number): number | undefined {
    if (this.samples.length < minSamples || this.samples.length === 0) return undefined;
    if (this.fresh > 0 && this.fresh * 20 >= this.samples.length) {
      this.sorted = [...this.samples].sort((a, b) => a - b);
      this.fresh = 0;
    }
    return percentile(this.sorted, p);
  }
}
