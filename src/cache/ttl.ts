/** When a stored answer stops being fresh, and when it stops being servable at all (stale on error). */
export interface Lifetime {
  freshUntil: number;
  staleUntil: number;
}

/**
 * The TTL of one entry: `ttlMs` ± `jitterPercent`, uniformly. Entries written in the same burst (a storm of the
 * same question) then expire spread out instead of sending one burst of misses to the upstream together.
 */
export function jitteredTtlMs(ttlMs: number, jitterPercent: number, random: () => number): number {
  const spread = (ttlMs * jitterPercent) / 100;
  return Math.max(1, Math.round(ttlMs + (2 * random() - 1) * spread));
}

export function lifetime(
  now: number,
  ttlMs: number,
  jitterPercent: number,
  staleForMs: number,
  random: () => number,
): Lifetime {
  const freshUntil = now + jitteredTtlMs(ttlMs, jitterPercent, random);
  return { freshUntil, staleUntil: freshUntil + staleForMs };
}

export type Freshness = 'fresh' | 'stale' | 'gone';

export function freshness(l: Lifetime, now: number): Freshness {
  if (now < l.freshUntil) return 'fresh';
  return now < l.staleUntil ? 'stale' : 'gone';
}
