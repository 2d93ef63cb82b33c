/**
 * How long to wait before the next attempt: full-jitter exponential backoff (AWS Architecture Blog, "Exponential
 * Backoff and Jitter"): a uniform draw in [0, min(cap, base × 2^retry)). An upstream's Retry-After is a floor, since
 * it knows when it will have room. Pure: `random` is injected.
 */
export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

export function backoffDelayMs(retry: number, s: BackoffSettings, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(s.capMs, s.baseMs * 2 ** Math.max(0, retry));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}
