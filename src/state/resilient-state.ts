import type { RateDecision, RateLimitSpec, SharedState } from './shared-state.ts';
import { MemoryState } from './memory-state.ts';

/**
 * SharedState that keeps answering when Redis goes away. Limits are admission control, not bookkeeping that must
 * be exact: refusing every request because the limiter's store is down would turn a Redis outage into a gateway
 * outage. So on the first failed Redis call it degrades: every call is answered by a local MemoryState with
 * each limit scaled to this instance's share (`localFraction`, ~1 / expected instances), so the fleet as a whole
 * stays near the configured limits. While degraded it does not touch Redis on the request path (no timeout per
 * call); a PING every `probeIntervalMs` finds out when Redis is back, and then Redis answers again.
 *
 *   redis ──(a call fails: one warn, onChange(true))──▶ local-fallback ──(PING answers: one info, onChange(false))──▶ redis
 *
 * Known approximations, accepted for availability: leases taken in Redis before the outage cannot be released
 * during it and expire by their TTL; leases taken locally stay local (and are released locally) after recovery, so
 * for as long as they are held the fleet may exceed a cap by up to their number; local rate limiters start full.
 * A rest set locally (an account answered 429 during the outage) is written to Redis on recovery, so the other
 * instances learn of it too.
 */
export interface ProbedState extends SharedState {
  /** Resolves when the store answers (RedisState.ping). */
  ping(): Promise<void>;
}

/** The two pino methods used (a pino Logger fits). */
export interface StateLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ResilientStateOptions {
  redis: ProbedState;
  /** This instance's share of every limit while degraded, in (0, 1]; 1 / expected instances. */
  localFraction: number;
  log: StateLogger;
  /** How often to PING Redis while degraded; default 1000. */
  probeIntervalMs?: number;
  onChange?: (degraded: boolean) => void;
}

export class ResilientState implements SharedState {
  /** Called with true when it degrades to local state and false when Redis answers again (e.g. to set a gauge). */
  onChange: ((degraded: boolean) => void) | undefined;
  private readonly redis: ProbedState;
  private readonly local = new MemoryState();
  private readonly fraction: number;
  private readonly log: StateLogger;
  private readonly probeIntervalMs: number;
  private degradedSince: number | undefined;
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private probing = false;
  /** Leases taken locally (as key + NUL + leaseId): they must be released where they live, even after recovery. */
  private readonly localLeases = new Set<string>();
  /** Rests set while degraded (key → until, epoch ms): handed to Redis when it answers again. */
  private readonly localResting = new Map<string, number>();

  constructor(opts: ResilientStateOptions) {
    if (!(opts.localFraction > 0 && opts.localFraction <= 1)) {
      throw new RangeError(`localFraction=${opts.localFraction} is not valid: expected a number in (0, 1]`);
    }
    this.redis = opts.redis;
    this.fraction = opts.localFraction;
    this.log = opts.log;
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000;
    this.onChange = opts.onChange;
  }

  get kind(): string {
    return this.degradedSince === undefined ? this.redis.kind : 'local-fallback';
  }

  rateLimit(key: string, spec: RateLimitSpec, cost: number, nowMs: number): Promise<RateDecision> {
    const f = this.fraction;
    const share = {
      limit: spec.limit * f,
      periodMs: spec.periodMs,
      burst: Math.max(1, (spec.burst ?? spec.limit) * f),
    };
    return this.either(
      () => this.redis.rateLimit(key, spec, cost, nowMs),
      () => this.local.rateLimit(key, share, cost, nowMs),
    );
  }

  acquireSlot(key: string, cap: number, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    return this.either(
      () => this.redis.acquireSlot(key, cap, leaseId, ttlMs, nowMs),
      async () => {
        const ok = await this.local.acquireSlot(
          key,
          Math.max(1, Math.floor(cap * this.fraction)),
          leaseId,
          ttlMs,
          nowMs,
        );
        if (ok) this.localLeases.add(`${key}\0${leaseId}`);
        return ok;
      },
    );
  }

  releaseSlot(key: string, leaseId: string): Promise<void> {
    if (this.localLeases.delete(`${key}\0${leaseId}`)) return this.local.releaseSlot(key, leaseId);
    // A Redis lease that cannot be released now frees itself when its TTL runs out.
    return this.either(
      () => this.redis.releaseSlot(key, leaseId),
      async () => {},
    );
  }

  slotsInUse(key: string, nowMs: number): Promise<number> {
    return this.either(
      () => this.redis.slotsInUse(key, nowMs),
      () => this.local.slotsInUse(key, nowMs),
    );
  }

  setRestingUntil(key: string, untilMs: number): Promise<void> {
    return this.either(
      () => this.redis.setRestingUntil(key, untilMs),
      () => {
        this.localResting.set(key, Math.max(untilMs, this.localResting.get(key) ?? 0));
        return this.local.setRestingUntil(key, untilMs);
      },
    );
  }

  restingUntil(key: string, nowMs: number): Promise<number> {
    return this.either(
      () => this.redis.restingUntil(key, nowMs),
      () => this.local.restingUntil(key, nowMs),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    await Promise.all([this.redis.close(), this.local.close()]);
  }

  private async either<T>(remote: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (this.degradedSince !== undefined) return local();
    try {
      return await remote();
    } catch (err) {
      this.degrade(err);
      return local();
    }
  }

  private degrade(err: unknown): void {
    if (this.degradedSince !== undefined) return; // many in-flight calls fail together: one log line
    this.degradedSince = Date.now();
    this.log.warn(
      { err, localFraction: this.fraction },
      'shared state: Redis is unreachable; answering from local state with limits scaled by localFraction',
    );
    this.onChange?.(true);
    // unref: a pending probe must not keep the process alive on shutdown.
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing) return; // a slow PING must not pile up behind the interval
    this.probing = true;
    try {
      await this.redis.ping();
      this.recover();
    } catch {
      // still down; the next tick tries again
    } finally {
      this.probing = false;
    }
  }

  private recover(): void {
    if (this.degradedSince === undefined || this.probeTimer === undefined) return; // closed meanwhile
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.log.info(
      { degradedForMs: Date.now() - this.degradedSince },
      'shared state: Redis answers again; back to shared limits',
    );
    this.degradedSince = undefined;
    this.onChange?.(false);
    const now = Date.now();
    for (const [key, until] of this.localResting) {
      // Best effort: should Redis fail again at once, the next degrade starts from local state anyway.
      if (until > now) this.redis.setRestingUntil(key, until).catch(() => {});
    }
    this.localResting.clear();
  }
}
