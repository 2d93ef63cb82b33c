import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceRates } from '../../../src/queue/service-rates.ts';

const near = (x: number | undefined, want: number, tol = 0.01) => assert.ok(x !== undefined && Math.abs(x - want) < tol, `${String(x)} ≈ ${want}`);

/** 4 high/s and 8 normal/s over the last 10 s; `held` leases of 500 ms each. */
function loaded(held: number): ServiceRates {
  const r = new ServiceRates(10_000, 0, 60_000);
  r.holding(held, 9_000);
  r.served(500, 9_000);
  for (let i = 0; i < 40; i++) r.arrival('high', i * 250);
  for (let i = 0; i < 80; i++) r.arrival('normal', i * 125);
  return r;
}

test('the drain rate is the leases held over the service time (Little), and a class gets it minus what the classes above bring', () => {
  const now = 9_999;
  const r = loaded(5);
  near(r.classRate('high', now), 10); // 5 leases / 0.5 s
  near(r.classRate('normal', now), 6);
  near(r.classRate('low', now), -2);
  near(loaded(10).classRate('low', now), 8); // twice the slots, twice the drain
});

test('in a surge as old as the history: ahead over the class rate, infinite for a starved class', () => {
  const r = loaded(5);
  r.beginSurge(0);
  const now = 9_999;
  const rows: [Parameters<ServiceRates['waitMs']>, number][] = [
    [['normal', 3, now], 500], // 3 ahead at 6/s
    [['high', 20, now], 2000],
    [['low', 1, now], Infinity], // no time before the surge to hope for: the classes above keep their rate
    [['low', 0, now], 0], // nobody ahead
  ];
  for (const [args, want] of rows) {
    const got = r.waitMs(...args);
    assert.ok(want === Infinity ? got === Infinity : Math.abs(got - want) < 1, `waitMs(${args.join(', ')}) = ${got}, want ${want}`);
  }
});

test('a young surge is expected to end: the classes above bring their current rate while it lasts, then their rate from before it', () => {
  // 1 high/s for 50 s; then a surge of 12 high/s, 2 s old. 10 leases of 1 s: μ = 10/s.
  const r = new ServiceRates(2_000, 0, 60_000);
  r.holding(10, 51_000);
  r.served(1000, 51_000);
  for (let i = 0; i < 50; i++) r.arrival('high', i * 1000);
  r.beginSurge(50_000);
  for (let i = 0; i < 24; i++) r.arrival('high', 50_000 + i * (2_000 / 24));
  const now = 51_999;
  // Starved while the surge lasts (2 s more with factor 1, the Lindy estimate): the work left then is
  // 20 + (12 − 10)·2 = 24, drained at 10 − 1 (the rate before the surge).
  near(r.waitMs('normal', 20, now, 1), 1000 * (2 + 24 / 9), 30);
  // Factor 0.5: 1 s more; the work left is 20 + 2·1 = 22.
  near(r.waitMs('normal', 20, now, 0.5), 1000 * (1 + 22 / 9), 30);
  // Factor 0: the surge ends now.
  near(r.waitMs('normal', 20, now, 0), 1000 * (20 / 9), 30);
  // A burst allowance of 1.5 s: only the 0.5 s past it counts (factor 1: 0.5 s more); the work left is 20 + 2·0.5.
  near(r.waitMs('normal', 20, now, 1, 1_500), 1000 * (0.5 + 21 / 9), 30);
  // A surge younger than the allowance is taken for a burst that ends now.
  near(r.waitMs('normal', 20, now, 1, 10_000), r.waitMs('normal', 20, now, 0), 1);
  // A surge expected to outlast the wait: ahead over what the class gets now.
  near(r.waitMs('high', 20, now, 1), 2000, 1);
  // The surge over and a new one begun later, with the same history: the old surge now counts as history.
  r.endSurge();
  r.beginSurge(51_999);
  near(r.waitMs('normal', 20, now, 1), 1000 * 20 / (10 - 74 / 52), 30);
});

test('the drain rate counts the most leases held over the window, not a momentary dip', () => {
  const r = new ServiceRates(5_000, 0);
  r.served(1000, 0);
  r.holding(10, 0);
  r.holding(4, 1_000); // one account rests for a Retry-After
  near(r.classRate('high', 2_000), 10);
  r.holding(4, 6_000); // still 4 after a whole window: that is the capacity now
  near(r.classRate('high', 6_500), 4);
});

test('until an answer has completed there is no estimate, and nobody is refused on a guess', () => {
  const r = new ServiceRates(10_000, 0);
  r.arrival('high', 0);
  r.holding(8, 0);
  assert.equal(r.classRate('low', 500), undefined);
  assert.equal(r.waitMs('low', 50, 10), 0, 'slots filled, none drained yet');
  r.served(40, 10);
  r.beginSurge(0);
  assert.ok(r.waitMs('low', 50, 10) > 0);
});

test('the service time is the mean hold time over the window, and the last known one once the window is empty', () => {
  const r = new ServiceRates(10_000, 0);
  r.served(1000, 0);
  r.served(2000, 100);
  assert.equal(r.serviceMs(200), 1500);
  assert.equal(r.serviceMs(30_000), 1500, 'nothing completed lately: keep the last known');
  r.served(600, 30_000);
  assert.equal(r.serviceMs(30_001), 600);
});
