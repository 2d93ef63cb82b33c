/**
 * State that must hold across gateway instances: rate limits, account concurrency caps, account rests.
 * Two implementations run against one contract suite (test/contract/): in memory (the embedded default, one
 * instance) and Redis (several instances share one Redis; every operation is atomic on the server).
 *
 * Times are epoch milliseconds passed in by the caller (never read inside), so the memory implementation is pure
 * and the contract tests can drive both with the same clock values.
 */
export interface RateLimitSpec {
  /** Requests (or tokens) allowed per period. */
  limit: number;
  periodMs: number;
  /** How much may be spent at once above the steady rate; defaults to `limit` (a full period's worth). */
  burst?: number;
}

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until `cost` would be allowed (ms). 0 when allowed. */
  retryAfterMs: number;
  /** What could still be spent right now after this decision. */
  remaining: number;
  /** When the limiter is back to full (ms from now). */
  resetMs: number;
}

export interface SharedState {
  /** Which implementation answered ('memory', 'redis', or 'local-fallback' while Redis is away). */
  readonly kind: string;
  /**
   * GCRA: spends `cost` from the limiter named `key` if it fits, atomically. A negative cost gives back (a token
   * estimate corrected by the real usage) and always succeeds.
   */
  rateLimit(key: string, spec: RateLimitSpec, cost: number, nowMs: number): Promise<RateDecision>;
  /**
   * Takes one of `cap` slots named `key` for `leaseId`, atomically; false when all are taken. A slot expires
   * after `ttlMs` unless released, so a crashed instance cannot hold slots forever.
   */
  acquireSlot(key: string, cap: number, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean>;
  releaseSlot(key: string, leaseId: string): Promise<void>;
  /** Slots of `key` currently held (expired ones not counted). */
  slotsInUse(key: string, nowMs: number): Promise<number>;
  /** Marks `key` (an account) resting until `untilMs`; a later call can only extend it. */
  setRestingUntil(key: string, untilMs: number): Promise<void>;
  /** Until when `key` rests (0 when it does not). */
  restingUntil(key: string, nowMs: number): Promise<number>;
  close(): Promise<void>;
}
