import type { Clock } from '../clock.ts';
import type { RetryConfig } from '../config/types.ts';
import { RetryBudget } from './retry-budget.ts';

/**
 * The budgets a retry must fit: one for the whole gateway and one per upstream (charged to the upstream whose
 * failure causes the retry, so one sick upstream cannot spend everyone's retries). A request still open keeps its
 * deposit past the window: a stall is found seconds after the first attempt, and when arrivals stop (the end of a
 * burst) the window would otherwise have forgotten the very requests whose retries are now due.
 */
export class RetryBudgets {
  private readonly global: RetryBudget;
  private readonly perUpstream = new Map<string, RetryBudget>();
  /** Requests still open, by the upstream their first attempt deposited into. */
  private readonly open = new Map<string, number>();
  private openTotal = 0;
  private readonly clock: Clock;
  private readonly config: RetryConfig;

  constructor(config: RetryConfig, clock: Clock) {
    this.config = config;
    this.clock = clock;
    this.global = this.make();
  }

  /** A first attempt: deposits into the global budget and the upstream's. Returns when (its retries' cohort). */
  recordFirstAttempt(upstream: string): number {
    const now = this.clock.now();
    this.global.recordRequest(now);
    this.of(upstream).recordRequest(now);
    this.open.set(upstream, (this.open.get(upstream) ?? 0) + 1);
    this.openTotal++;
    return now;
  }

  /** A request whose first attempt went to `upstream` has ended: its deposit is left to the window. */
  requestEnded(upstream: string): void {
    const n = this.open.get(upstream) ?? 0;
    if (n <= 1) this.open.delete(upstream);
    else this.open.set(upstream, n - 1);
    if (n > 0) this.openTotal--;
  }

  /** Whether a retry caused by `failedUpstream` would fit both budgets now (takes nothing). */
  canRetry(failedUpstream: string): boolean {
    const now = this.clock.now();
    return (
      this.of(failedUpstream).available(now, this.open.get(failedUpstream) ?? 0) >= 1 &&
      this.global.available(now, this.openTotal) >= 1
    );
  }

  /**
   * Takes a retry caused by `failedUpstream` from both budgets, or neither; it is charged to `depositedAt`, when its
   * request's first attempt deposited (retry-budget.ts says why).
   */
  tryRetry(failedUpstream: string, depositedAt?: number): boolean {
    if (!this.canRetry(failedUpstream)) return false;
    const now = this.clock.now();
    return (
      this.of(failedUpstream).tryRetry(now, this.open.get(failedUpstream) ?? 0, depositedAt) &&
      this.global.tryRetry(now, this.openTotal, depositedAt)
    );
  }

  private of(name: string): RetryBudget {
    let b = this.perUpstream.get(name);
    if (b === undefined) {
      b = this.make();
      this.perUpstream.set(name, b);
    }
    return b;
  }

  private make(): RetryBudget {
    return new RetryBudget(
      {
        ratio: this.config.budgetRatio,
        minPerSecond: this.config.budgetMinPerSecond,
        windowMs: this.config.budgetWindowMs,
      },
      this.clock.now(),
    );
  }
}
