import type { Balancer } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import { sendJson } from '../server/send-json.ts';
import type { AdminRoute } from './admin-routes.ts';

/**
 * Upstream states (health, breaker, drain, in flight vs cap, latency, accounts) and the operator's drain switch: a
 * drained upstream gets no new attempts; those in flight finish. `balancer` is a getter because a reload replaces
 * the balancer (drains carry over).
 */
export function upstreamRoutes(balancer: () => Balancer): AdminRoute[] {
  const one = (name: string) => {
    const u = balancer()
      .snapshot()
      .find((s) => s.name === name);
    if (u === undefined) throw unknown(name, balancer());
    return u;
  };
  const setDrained =
    (drained: boolean): AdminRoute['handle'] =>
    ({ req, res, params }) => {
      req.resume();
      const name = params.name ?? '';
      if (!balancer().setDrained(name, drained)) throw unknown(name, balancer());
      sendJson(res, 200, one(name));
    };
  return [
    {
      method: 'GET',
      path: '/admin/upstreams',
      handle: ({ res }) => sendJson(res, 200, { upstreams: balancer().snapshot() }),
    },
    {
      method: 'GET',
      path: '/admin/upstreams/:name',
      handle: ({ res, params }) => sendJson(res, 200, one(params.name ?? '')),
    },
    { method: 'POST', path: '/admin/upstreams/:name/drain', handle: setDrained(true) },
    { method: 'POST', path: '/admin/upstreams/:name/undrain', handle: setDrained(false) },
  ];
}

function unknown(name: string, b: Balancer): SpillwayError {
  return new SpillwayError(
    'not_found',
    `No upstream named '${name}' (configured: ${b
      .snapshot()
      .map((s) => s.name)
      .join(', ')}).`,
  );
}
