/** What the capacity estimate needs to know about one upstream. */
export interface UpstreamCapacity {
  /** Requests it may have in flight now: the learned (AIMD) limit, never above max_concurrency. */
  cap: number;
  /** False while it is drained or taken out by passive health: its slots serve nobody. */
  available: boolean;
}

/**
 * Requests per second the fleet can serve, by Little's law: slots in rotation ÷ mean time a request holds a slot.
 * Undefined until one answer has completed (no service time is known, and a guess would mislead the forecast).
 */
export function capacityRps(upstreams: readonly UpstreamCapacity[], serviceMs: number): number | undefined {
  if (!(serviceMs > 0)) return undefined;
  let slots = 0;
  for (const u of upstreams) if (u.available) slots += u.cap;
  return slots / (serviceMs / 1000);
}
