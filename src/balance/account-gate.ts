import type { Config } from '../config/types.ts';
import type { SharedState } from '../state/shared-state.ts';
import type { Lease } from './lease.ts';

const MINUTE_MS = 60_000;
/** An account found full on the shared state rests this long before this instance tries it again. */
const SHARED_FULL_REST_MS = 100;

export type GateResult = { ok: true; done: (retryAfterMs?: number) => void } | { ok: false; restMs: number };

/**
 * The part of choosing an account that must agree with other instances: the account's own rate limits
 * (requests and tokens per minute) and, when the state is shared, its concurrency cap and rest as seen by the
 * whole fleet. The balancer's local counts stay the fast first filter; this asks the shared state only about the
 * account it chose. Left out of the path when no account limit is set and the state is not shared.
 */
export class AccountGate {
  private readonly state: SharedState;
  private readonly shared: boolean;
  private readonly leaseTtlMs: number;

  constructor(config: Config, state: SharedState) {
    this.state = state;
    this.shared = config.state.redis !== null;
    // A slot held by an instance that died expires after the longest an attempt may take.
    this.leaseTtlMs = Math.max(...config.upstreams.map((u) => u.timeouts.totalMs)) + 10_000;
  }

  static needed(config: Config): boolean {
    return (
      config.state.redis !== null ||
      config.upstreams.some((u) =>
        u.accounts.some((a) => a.limits.requestsPerMinute !== undefined || a.limits.tokensPerMinute !== undefined),
      )
    );
  }

  async admit(lease: Lease, leaseId: string, tokens: number): Promise<GateResult> {
    const now = Date.now();
    const key = `acct:${lease.upstream.name}/${lease.account}`;
    const account = lease.upstream.accounts.find((a) => a.name === lease.account);
    const limits: [string, number | undefined, number][] = [
      [`${key}:rpm`, account?.limits.requestsPerMinute, 1],
      [`${key}:tpm`, account?.limits.tokensPerMinute, tokens],
    ];
    for (const [k, limit, cost] of limits) {
      if (limit === undefined) continue;
      const d = await this.state.rateLimit(k, { limit, periodMs: MINUTE_MS }, cost, now);
      if (!d.allowed) return { ok: false, restMs: Number.isFinite(d.retryAfterMs) ? d.retryAfterMs : MINUTE_MS };
    }
    if (!this.shared) return { ok: true, done: () => {} };
    const [until, got] = await Promise.all([
      this.state.restingUntil(key, now),
      this.state.acquireSlot(
        key,
        account?.maxConcurrency ?? lease.upstream.maxConcurrency,
        leaseId,
        this.leaseTtlMs,
        now,
      ),
    ]);
    if (until > now || !got) {
      if (got) await this.state.releaseSlot(key, leaseId);
      return { ok: false, restMs: until > now ? until - now : SHARED_FULL_REST_MS };
    }
    return {
      ok: true,
      done: (retryAfterMs) => {
        void this.state.releaseSlot(key, leaseId);
        // A 429 rests the account for every instance, not only the one that received it.
        if (retryAfterMs !== undefined) void this.state.setRestingUntil(key, Date.now() + retryAfterMs);
      },
    };
  }
}
