import { percentile } from '../storm/summary.ts';

/**
 * Recent times to first token of one model, for the hedging delay: a request still waiting past the p-th
 * percentile of its recent peers is probably stuck behind a busy upstream. A ring of the last `size` samples.
 */
export class TtftTracker {
  private readonly samples: number[] = [];
  private next = 0;
  private readonly size: number;

  constructor(size = 200) {
    this.size = size;
  }

  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  /** The p-th percentile, or undefined with fewer than `minSamples` samples. */
  percentile(p: number, minSamples: number): number | undefined {
    if (this.samples.length < minSamples) return undefined;
    return percentile([...this.samples].sort((a, b) => a - b), p);
  }
}
