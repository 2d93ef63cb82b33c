/**
 * Adaptive concurrency (AIMD, as TCP congestion control and Netflix's concurrency-limits): each success raises the
 * limit by 1/limit (about +1 per full round of requests); a sign of overload (503, 429, timeout) multiplies it by
 * `decreaseFactor`, at most once per `decreaseIntervalMs` so that a burst of failures from one moment of overload
 * counts once. The limit stays within [minLimit, the configured max_concurrency]: it learns how much an upstream
 * really takes today, below what the account allows.
 *
 * Pushback is sharper than a timeout: an upstream that answers 429/503 "busy" while we had `n` requests in flight
 * (this one included) took at most n − 1, so the limit falls to that at once, and by at least one per pushback:
 * with no max_concurrency configured (the limit starts at the default cap, far above a real account's) the first
 * busy answer brings it near the account's real cap in one step, where a multiplicative decrease would need a dozen
 * seconds of refusals; an overshoot of k requests costs k refusals and lowers the limit by k. After a pushback the
 * additive increase climbs back only to the level that was refused, for `PROBE_HOLD_MS`; then it probes upward again
 * (a cap can grow: DeepSeek's follows the account's balance). Probing every round instead would cost a refusal per
 * round, and where the refusal carries a Retry-After, a rest of the whole account each time.
 *
 * Hand-written: a few lines of arithmetic on outcomes; pure, time passed in.
 */
export interface AimdSettings {
  max: number;
  minLimit: number;
  decreaseFactor: number;
  decreaseIntervalMs: number;
}

export type Signal = 'success' | 'overload' | 'pushback' | 'neutral';

/** How long after a pushback the limit stays below the level that was refused. */
export const PROBE_HOLD_MS = 10_000;

export class AimdLimit {
  private value: number;
  private lastDecrease = -Infinity;
  /** The highest the limit may climb until `ceilingUntil` (just below the level a pushback refused). */
  private ceiling = Infinity;
  private ceilingUntil = -Infinity;
  private readonly s: AimdSettings;

  constructor(s: AimdSettings) {
    this.s = s;
    this.value = s.max;
  }

  /** Requests that may be in flight now. */
  get limit(): number {
    return Math.max(this.s.minLimit, Math.floor(this.value));
  }

  /** True when the limit cannot go lower: pushback at this point means the upstream refuses nearly everything. */
  get atMinimum(): boolean {
    return this.limit <= this.s.minLimit;
  }

  /** `inFlight`: requests in flight when the outcome came back, this one included (used by `pushback`). */
  record(signal: Signal, now: number, inFlight = Infinity): void {
    if (signal === 'pushback') {
      this.value = Math.max(this.s.minLimit, Math.min(Math.floor(this.value) - 1, inFlight - 1));
      this.lastDecrease = now;
      this.ceiling = this.value;
      this.ceilingUntil = now + PROBE_HOLD_MS;
    } else if (signal === 'success') {
      const top = now < this.ceilingUntil ? Math.min(this.s.max, this.ceiling + 0.999) : this.s.max;
      this.value = Math.min(top, this.value + 1 / Math.max(1, this.value));
    } else if (signal === 'overload' && now - this.lastDecrease >= this.s.decreaseIntervalMs) {
      this.value = Math.max(this.s.minLimit, this.value * this.s.decreaseFactor);
      this.lastDecrease = now;
    }
  }
}
