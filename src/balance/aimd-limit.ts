/**
 * Adaptive concurrency (AIMD, as TCP congestion control and Netflix's concurrency-limits): each success raises the
 * limit by 1/limit (about +1 per full round of requests); a sign of overload (503, 429, timeout) multiplies it by
 * `decreaseFactor`, at most once per `decreaseIntervalMs` so that a burst of failures from one moment of overload
 * counts once. The limit stays within [minLimit, the configured max_concurrency]: it learns how much an upstream
 * really takes today, below what the account allows.
 *
 * Hand-written: a few lines of arithmetic on outcomes; pure, time passed in.
 */
export interface AimdSettings {
  max: number;
  minLimit: number;
  decreaseFactor: number;
  decreaseIntervalMs: number;
}

export type Signal = 'success' | 'overload' | 'neutral';

export class AimdLimit {
  private value: number;
  private lastDecrease = -Infinity;
  private readonly s: AimdSettings;

  constructor(s: AimdSettings) {
    this.s = s;
    this.value = s.max;
  }

  /** Requests that may be in flight now. */
  get limit(): number {
    return Math.max(this.s.minLimit, Math.floor(this.value));
  }

  record(signal: Signal, now: number): void {
    if (signal === 'success') {
      this.value = Math.min(this.s.max, this.value + 1 / Math.max(1, this.value));
    } else if (signal === 'overload' && now - this.lastDecrease >= this.s.decreaseIntervalMs) {
      this.value = Math.max(this.s.minLimit, this.value * this.s.decreaseFactor);
      this.lastDecrease = now;
    }
  }
}
