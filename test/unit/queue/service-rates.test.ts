import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceRates } from '../../../src/queue/service-rates.ts';

test('a slot frees every service time over the leases held (Little), unknown until an answer completed', () => {
  const r = new ServiceRates(10_000, 0);
  assert.equal(r.slotMs(0), 0, 'nothing measured: nobody is refused on a guess');
  r.holding(5, 9_000);
  r.served(500, 9_000);
  assert.equal(r.slotMs(9_000), 100); // 5 leases of 500 ms: one frees every 100 ms
  r.holding(10, 9_100);
  assert.equal(r.slotMs(9_100), 50, 'twice the slots, twice the drain');
});

test('the drain rate keeps the peak held over its window: a short rest does not halve it', () => {
  const r = new ServiceRates(10_000, 0);
  r.holding(10, 1_000);
  r.served(1_000, 1_000);
  r.holding(5, 2_000); // half the slots rest for a Retry-After
  assert.equal(r.slotMs(2_000), 100);
  r.holding(5, 12_000); // past the window the lower peak is the truth
  r.served(1_000, 12_000);
  assert.equal(r.slotMs(12_000), 200);
});

test('the service time is the mean over the window, the last known one after a quiet spell', () => {
  const r = new ServiceRates(1_000, 0);
  r.served(100, 100);
  r.served(300, 200);
  assert.equal(r.serviceMs(500), 200);
  assert.equal(r.serviceMs(5_000), 200);
});

test('arrivals per second over the window', () => {
  const r = new ServiceRates(5_000, 0);
  for (let i = 0; i < 50; i++) r.arrival(i * 100);
  assert.ok(Math.abs(r.arrivalRate(4_999) - 10) < 0.01);
});
