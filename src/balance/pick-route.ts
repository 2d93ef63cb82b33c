/**
 * Which route takes the request: power of two choices, weighted. Two candidates are drawn with probability
 * proportional to weight and the one with fewer requests in flight per unit of weight wins. At idle that is a
 * weighted random choice; under load it is least-loaded. Routes whose upstream is at its max_concurrency or out of
 * rotation are never candidates, so a cap is never exceeded.
 *
 * Hand-written: the choice is the product's own policy (P2C-EWMA comes with the recovery work); pure, so it is
 * tested as a table with a seeded random source.
 */
export interface RouteLoad {
  weight: number;
  inFlight: number;
  cap: number;
  available: boolean;
}

export function pickRoute(routes: readonly RouteLoad[], random: () => number): number {
  let total = 0;
  let eligible = 0;
  for (const r of routes) {
    if (r.available && r.inFlight < r.cap) {
      total += r.weight;
      eligible++;
    }
  }
  if (eligible === 0) return -1;
  const a = draw(routes, total, random, -1);
  if (eligible === 1) return a;
  const b = draw(routes, total - (routes[a]?.weight ?? 0), random, a);
  const ra = routes[a];
  const rb = routes[b];
  if (ra === undefined || rb === undefined) return a;
  return rb.inFlight / rb.weight < ra.inFlight / ra.weight ? b : a;
}

function draw(routes: readonly RouteLoad[], total: number, random: () => number, skip: number): number {
  let x = random() * total;
  let last = -1;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r === undefined || i === skip || !r.available || r.inFlight >= r.cap) continue;
    last = i;
    x -= r.weight;
    if (x < 0) return i;
  }
  return last;
}
