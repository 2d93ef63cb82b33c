import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceRates } from '../../../src/queue/service-rates.ts';

test('a class gets the grant rate minus what the classes above it bring', () => {
  const r = new ServiceRates(10_000, 0);
  for (let i = 0; i < 100; i++) r.grant(i * 100); // 10 grants/s over 10 s
  r.served(500);
  for (let i = 0; i < 40; i++) r.arrival('high', i * 250); // 4/s
  for (let i = 0; i < 80; i++) r.arrival('normal', i * 125); // 8/s
  const now = 9_999;
  const near = (x: number | undefined, want: number) => assert.ok(x !== undefined && Math.abs(x - want) < 0.01, `${String(x)} ≈ ${want}`);
  near(r.classRate('high', now), 10);
  near(r.classRate('normal', now), 6);
  near(r.classRate('low', now), -2);
  assert.ok(Math.abs(r.waitMs('normal', 3, now) - 500) < 1);
  assert.equal(r.waitMs('low', 1, now), Infinity, 'a starved class waits forever');
  assert.equal(r.waitMs('low', 0, now), 0, 'nobody ahead: no wait');
});

test('until an answer has completed there is no estimate, and nobody is refused on a guess', () => {
  const r = new ServiceRates(10_000, 0);
  r.arrival('high', 0);
  assert.equal(r.classRate('low', 500), undefined);
  for (let i = 0; i < 8; i++) r.grant(0);
  assert.equal(r.waitMs('low', 50, 10), 0, 'slots filled, none drained yet');
  r.served(40);
  assert.ok(r.waitMs('low', 50, 10) > 0);
});

test('the service time is a smoothed average of lease hold times', () => {
  const r = new ServiceRates(10_000, 0);
  r.served(1000);
  assert.equal(r.serviceMs, 1000);
  r.served(2000);
  assert.equal(r.serviceMs, 1100);
});
