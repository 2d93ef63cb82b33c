/**
 * Which route takes the request: power of two choices over peak-EWMA latency (P2C-EWMA, as in Finagle and
 * linkerd). Two candidates are drawn with probability proportional to weight and the one with the lower
 * (latency + 1) × (in flight + 1) wins; scores within 10% of each other count as a tie, which the first draw wins.
 * So at idle the choice follows the weights, under load the least loaded wins, and a slowing upstream is avoided. Routes that are out of rotation or have no free account slot are never
 * candidates, so a concurrency cap is never exceeded.
 *
 * Hand-written: the choice is the product's own policy; pure, so it is tested as a table with a scripted random.
 */
export interface RouteLoad {
  weight: number;
  inFlight: number;
  /** False when out of rotation, resting, or every account is at its cap. */
  available: boolean;
  /** Peak-EWMA latency in ms (0 while unknown). */
  latencyMs?: number;
  /** Requests waiting in a self-hosted engine's own queue (from its /metrics), when known. */
  engineQueued?: number;
  /** The engine's KV cache is nearly full: new answers start slowly or preempt others. */
  kvFull?: boolean;
}

export function pickRoute(routes: readonly RouteLoad[], random: () => number): number {
  let total = 0;
  let eligible = 0;
  for (const r of routes) {
    if (r.available) {
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
  const sa = score(ra);
  const sb = score(rb);
  return sb < sa * TIE ? b : a;
}

/** Scores closer than this ratio are a tie: latency samples are noisy, and ties let the weights decide. */
const TIE = 0.9;

function score(r: RouteLoad): number {
  return ((r.latencyMs ?? 0) + 1) * (r.inFlight + (r.engineQueued ?? 0) + 1) * (r.kvFull === true ? 2 : 1);
}

function draw(routes: readonly RouteLoad[], total: number, random: () => number, skip: number): number {
  let x = random() * total;
  let last = -1;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (r === undefined || i === skip || !r.available) continue;
    last = i;
    x -= r.weight;
    if (x < 0) return i;
  }
  return last;
}
