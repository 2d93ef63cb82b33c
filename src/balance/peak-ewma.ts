/**
 * Peak-EWMA latency (Finagle's and linkerd's load metric): a slower answer is believed at once, a faster one only
 * gradually (decay time constant `tauMs`). An upstream that starts to slow down is avoided after one slow answer
 * instead of after many. Pure: time is passed in.
 */
export class PeakEwma {
  private value = 0;
  private stamp: number;
  private readonly tauMs: number;

  constructor(tauMs: number, now: number) {
    this.tauMs = tauMs;
    this.stamp = now;
  }

  observe(sampleMs: number, now: number): void {
    if (sampleMs > this.value) {
      this.value = sampleMs;
    } else {
      const w = Math.exp(-Math.max(0, now - this.stamp) / this.tauMs);
      this.value = this.value * w + sampleMs * (1 - w);
    }
    this.stamp = now;
  }

  get(): number {
    return this.value;
  }
}
