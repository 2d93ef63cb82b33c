import type { RateDecision, RateLimitSpec, SharedState } from './shared-state.ts';

/**
 * The embedded SharedState: one process, plain maps, no timers; time only from the arguments.
 *
 * Rate limits use GCRA (generic cell rate algorithm), which keeps ONE number per key: the theoretical arrival
 * time (TAT), the moment the limiter would be back to full if nothing else arrived.
 *
 *   T = periodMs / limit   (emission interval: what one unit of cost occupies)
 *   τ = T × burst          (tolerance: how far TAT may run ahead of now)
 *
 *         now                  now + τ
 *   ───────┼──────────────────────┼────▶ time
 *          │◀── spent ──▶│        │          TAT' = max(TAT, now) + cost × T
 *                        TAT'                allowed ⇔ TAT' − τ ≤ now   (TAT' fits left of now + τ)
 *   remaining = ⌊(now + τ − TAT) / T⌋    resetMs = TAT − now    retryAfterMs = TAT' − τ − now
 *
 * Hand-written rather than a library (rate-limiter-flexible, bottleneck, …) because this is the product's own
 * admission policy and RedisState must run the very same arithmetic inside one Lua script, atomically on the
 * server; a JS library's internals cannot be mirrored step for step, so both sides would drift apart.
 *
 * Exactness: epoch milliseconds near 1.7e12 leave doubles only ~1/4096 ms of resolution, so summing k
 * intervals of T = 1000/3 need not equal k × T, and "exactly the burst" would fail by a rounding error. Every
 * quantity is therefore snapped to a grid of 1/1024 ms (a power of two, so snapping is exact); sums and
 * differences of grid values are then exact in doubles (up to year ~2250). The cost: T itself is snapped, a rate
 * error of at most 1/(2048·T) (under 1% for T ≥ 0.05 ms, i.e. up to 1.2M units a minute).
 */
const GRID_PER_MS = 1024;

/** Snaps to the grid; written as floor(x·1024 + 0.5) because the Lua side can only do exactly that. */
function snap(x: number): number {
  return Math.floor(x * GRID_PER_MS + 0.5) / GRID_PER_MS;
}

/** One GCRA step on a stored TAT (0 when absent). Returns the TAT to store and the decision. */
function gcra(
  storedTat: number,
  spec: RateLimitSpec,
  cost: number,
  nowMs: number,
): { tat: number; decision: RateDecision } {
  const now = snap(nowMs);
  const t = Math.max(1 / GRID_PER_MS, snap(spec.periodMs / spec.limit));
  const tau = snap(t * (spec.burst ?? spec.limit));
  const inc = snap(cost * t);
  const tat = Math.max(storedTat, now);
  let next = tat + inc;
  let retryAfterMs = 0;
  const allowed = inc < 0 || next - tau <= now;
  if (inc < 0) next = Math.max(now, next); // a give-back never leaves the limiter fuller than full
  if (!allowed) {
    next = tat; // a refusal spends nothing
    // When the cost exceeds the whole burst it can never fit, however long the caller waits.
    retryAfterMs = inc > tau ? Number.POSITIVE_INFINITY : tat + inc - tau - now;
  }
  const remaining = Math.max(0, Math.floor((now + tau - next) / t));
  return { tat: next, decision: { allowed, retryAfterMs, remaining, resetMs: Math.max(0, next - now) } };
}

/** Entries whose time has passed are removed from the maps every this many writes, so idle keys do not pile up. */
const SWEEP_EVERY = 1024;

export class MemoryState implements SharedState {
  readonly kind: string = 'memory';
  private readonly tats = new Map<string, number>();
  /** key → leaseId → expiresAt (ms). */
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly resting = new Map<string, number>();
  private writes = 0;

  async rateLimit(key: string, spec: RateLimitSpec, cost: number, nowMs: number): Promise<RateDecision> {
    const { tat, decision } = gcra(this.tats.get(key) ?? 0, spec, cost, nowMs);
    if (tat > snap(nowMs)) this.tats.set(key, tat);
    else this.tats.delete(key); // TAT ≤ now means "full", the same as absent
    this.sweep(nowMs);
    return decision;
  }

  async acquireSlot(key: string, cap: number, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    const held = this.liveSlots(key, nowMs);
    // Re-acquiring a held lease renews it: a retried acquire must not take a second slot.
    if (!held?.has(leaseId) && (held?.size ?? 0) >= cap) return false;
    const leases = held ?? new Map<string, number>();
    leases.set(leaseId, nowMs + ttlMs);
    this.slots.set(key, leases);
    this.sweep(nowMs);
    return true;
  }

  async releaseSlot(key: string, leaseId: string): Promise<void> {
    const leases = this.slots.get(key);
    if (leases?.delete(leaseId) && leases.size === 0) this.slots.delete(key);
  }

  async slotsInUse(key: string, nowMs: number): Promise<number> {
    return this.liveSlots(key, nowMs)?.size ?? 0;
  }

  async setRestingUntil(key: string, untilMs: number): Promise<void> {
    if (untilMs > (this.resting.get(key) ?? 0)) this.resting.set(key, untilMs);
  }

  async restingUntil(key: string, nowMs: number): Promise<number> {
    const until = this.resting.get(key) ?? 0;
    if (until > nowMs) return until;
    this.resting.delete(key);
    return 0;
  }

  async close(): Promise<void> {
    this.tats.clear();
    this.slots.clear();
    this.resting.clear();
  }

  /** The key's leases with the expired ones pruned (a lease expires when nowMs reaches expiresAt). */
  private liveSlots(key: string, nowMs: number): Map<string, number> | undefined {
    const leases = this.slots.get(key);
    if (!leases) return undefined;
    for (const [id, expiresAt] of leases) if (expiresAt <= nowMs) leases.delete(id);
    if (leases.size > 0) return leases;
    this.slots.delete(key);
    return undefined;
  }

  private sweep(nowMs: number): void {
    if (++this.writes % SWEEP_EVERY !== 0) return;
    const now = snap(nowMs);
    for (const [k, tat] of this.tats) if (tat <= now) this.tats.delete(k);
    for (const [k, until] of this.resting) if (until <= nowMs) this.resting.delete(k);
    for (const k of this.slots.keys()) this.liveSlots(k, nowMs);
  }
}
