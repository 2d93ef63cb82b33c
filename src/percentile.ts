/**
 * Nearest-rank percentile of an ascending-sorted array, `p` in [0, 100]; NaN when empty. Shared by the adaptive
 * timeouts (upstream/recent-samples.ts), the storm summary and the benches, so every p95 in the project is the same
 * p95. Nearest-rank rather than interpolated: it is always a value that was seen.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}
