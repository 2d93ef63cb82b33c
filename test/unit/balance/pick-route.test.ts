import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickRoute, type RouteLoad } from '../../../src/balance/pick-route.ts';

const r = (weight: number, inFlight: number, cap = 10, available = true, latencyMs = 0): RouteLoad => ({
  weight,
  inFlight,
  available: available && inFlight < cap,
  latencyMs,
});
/** A scripted random source: returns the given values in turn. */
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length] ?? 0;
};

test('pickRoute: table of choices', () => {
  const cases: { name: string; routes: RouteLoad[]; random: number[]; want: number }[] = [
    { name: 'no routes', routes: [], random: [0.5], want: -1 },
    { name: 'the only route', routes: [r(1, 0)], random: [0.9], want: 0 },
    { name: 'a route at its cap is never chosen', routes: [r(1, 10), r(1, 3)], random: [0.1, 0.1], want: 1 },
    { name: 'every route at its cap: none', routes: [r(1, 10), r(1, 10)], random: [0.1], want: -1 },
    { name: 'an ejected route is never chosen', routes: [r(1, 0, 10, false), r(1, 9)], random: [0.1], want: 1 },
    { name: 'least loaded of the two drawn wins', routes: [r(1, 5), r(1, 2)], random: [0.1, 0.9], want: 1 },
    {
      name: "an engine's own queue counts as load",
      routes: [{ weight: 1, inFlight: 0, available: true, engineQueued: 8 }, r(1, 2)],
      random: [0.1, 0.9],
      want: 1,
    },
    {
      name: 'a nearly full KV cache doubles the cost',
      routes: [{ weight: 1, inFlight: 1, available: true, kvFull: true }, r(1, 2)],
      random: [0.1, 0.9],
      want: 1,
    },
    {
      name: 'near-equal scores are a tie the first draw wins',
      routes: [r(1, 0, 10, true, 100), r(1, 0, 10, true, 95)],
      random: [0.1, 0.9],
      want: 0,
    },
    { name: 'a tie keeps the first draw', routes: [r(1, 3), r(1, 3)], random: [0.9, 0.1], want: 1 },
    {
      name: 'the faster of two idle routes wins',
      routes: [r(1, 0, 10, true, 800), r(1, 0, 10, true, 100)],
      random: [0.1, 0.9],
      want: 1,
    },
    {
      name: 'a fast route loses once it is loaded enough',
      routes: [r(1, 9, 20, true, 100), r(1, 0, 20, true, 400)],
      random: [0.1, 0.9],
      want: 1,
    },
  ];
  for (const c of cases) assert.equal(pickRoute(c.routes, seq(...c.random)), c.want, c.name);
});

test('pickRoute: at idle the choice follows the weights', () => {
  let s = 42;
  const random = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const counts = [0, 0];
  for (let i = 0; i < 10_000; i++) counts[pickRoute([r(3, 0), r(1, 0)], random)]!++;
  const share = counts[0]! / 10_000;
  assert.ok(share > 0.7 && share < 0.8, `weight-3 route got ${share}`);
});
