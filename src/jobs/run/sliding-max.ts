/**
 * The largest value seen over the last `windowMs` (pure: time is passed in). A monotonic deque: each sample drops
 * the older ones it exceeds, so `add` is amortised O(1) and the front is always the window's maximum.
 */
export class SlidingMax {
  private readonly windowMs: number;
  private readonly samples: { at: number; v: number }[] = [];

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  add(now: number, v: number): void {
    while (this.samples.length > 0 && (this.samples[this.samples.length - 1] as { v: number }).v <= v)
      this.samples.pop();
    this.samples.push({ at: now, v });
  }

  max(now: number): number {
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at <= now - this.windowMs)
      this.samples.shift();
    return this.samples[0]?.v ?? 0;
  }
}
