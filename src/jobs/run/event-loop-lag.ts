import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How late this process's event loop runs (ms, the p90 over roughly the last second). Job items run in the same
 * process as interactive requests, so the gateway's own CPU is a capacity too: while the loop is late, every
 * interactive request waits for it, and background work must leave it alone (the runner starts no item).
 */
export class EventLoopLag {
  private readonly h: ReturnType<typeof monitorEventLoopDelay>;
  private since = performance.now();
  private lastMs = 0;

  constructor() {
    this.h = monitorEventLoopDelay({ resolution: 10 });
    this.h.enable();
  }

  /** p90 lag in ms over the current window; a new window starts every second. */
  get ms(): number {
    const now = performance.now();
    if (now - this.since >= 1000) {
      // The histogram includes the sampling resolution itself; what matters is the delay beyond it.
      this.lastMs = this.h.count === 0 ? 0 : Math.max(0, this.h.percentile(90) / 1e6 - 10);
      this.h.reset();
      this.since = now;
    }
    return this.lastMs;
  }

  stop(): void {
    this.h.disable();
  }
}
