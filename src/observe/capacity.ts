/** What the capacity estimate needs to know about one upstream. */
export interface UpstreamCapacity {
  /** Requests it may have in flight now: the learned (AIMD) limit, never above max_concurrency. */
  cap: number;
  /** False while it is drained or taken out by passive health: its slots serve nobody. */
  available: boolean;
  /** Mean time one of its answers holds a slot (ms); 0 before it completed one. */
  serviceMs: number;
}

/**
 * Requests per second the fleet can serve, by Little's law per upstream: its slots in rotation ÷ the mean time a
 * request holds one. An upstream that has not answered yet is assumed as fast as the mean of those that have.
 * Undefined until one answer completed anywhere (a guess would mislead the forecast and an autoscaler).
 */
export function capacityRps(upstreams: readonly UpstreamCapacity[], fallbackServiceMs = 0): number | undefined {
  const known = upstreams.filter((u) => u.serviceMs > 0);
  const meanMs = known.length > 0 ? known.reduce((s, u) => s + u.serviceMs, 0) / known.length : fallbackServiceMs;
  if (!(meanMs > 0)) return undefined;
  let rps = 0;
  for (const u of upstreams) if (u.available) rps += u.cap / ((u.serviceMs > 0 ? u.serviceMs : meanMs) / 1000);
  return rps;
}
