import type { AccountGate, GateResult } from '../balance/account-gate.ts';
import type { Lease } from '../balance/lease.ts';

/**
 * Asks the account gate to admit a lease. Refused, the account rests and the slot goes back unused. Admitted, the
 * gate's fleet-wide slot is given back when the lease is, whoever releases it (a hedge race's loser included), and a
 * 429 on it rests the account for every instance.
 */
export async function admitLease(
  gate: AccountGate,
  lease: Lease,
  leaseId: string,
  tokens: number,
  cooldownMs: number,
): Promise<GateResult> {
  const g = await gate.admit(lease, leaseId, tokens);
  if (!g.ok) {
    lease.rest(g.restMs);
    return g;
  }
  lease.onRelease(({ outcome }) =>
    g.done(outcome.kind === 'rate_limited' ? (outcome.retryAfterMs ?? cooldownMs) : undefined),
  );
  return g;
}
