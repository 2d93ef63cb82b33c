import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceRates } from '../../../src/queue/service-rates.ts';

test('a slot frees every service time over the leases held (Little), unknown until an answer completed', () => {
  const r = new ServiceRates(10_000, 0);
  assert.equal(r.drain(0).slotMs, 0, 'nothing measured: nobody is refused on a guess');
  r.holding(5, 9_000);
  r.served(500, 9_000);
  assert.equal(r.drain(9_000).slotMs, 100); // 5 leases of 500 ms: one frees every 100 ms
  r.holding(10, 9_100);
  assert.equal(r.drain(9_100).slotMs, 50, 'twice the slots, twice the drain');
});

test('the drain rate keeps the peak held over its window: a short rest does not halve it', () => {
  const r = new ServiceRates(10_000, 0);
  r.holding(10, 1_000);
  r.served(1_000, 1_000);
  r.holding(5, 2_000); // half the slots rest for a Retry-After
  assert.equal(r.drain(2_000).slotMs, 100);
  r.holding(5, 12_000); // past the window the lower peak is the truth
  r.served(1_000, 12_000);
  assert.equal(r.drain(12_000).slotMs, 200);
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

/**
 * Saturated from 0: answers complete every `everyMs` (10) for 6 s, then every `thenMs` for 2 s (the short window).
 * Returns the rate read at 8 s with a long window of `longWindowMs`.
 */
function drainRead(longWindowMs: number, thenMs: number, everyMs = 10): number {
  const r = new ServiceRates(2_000, 0, longWindowMs);
  r.saturated(true, 0);
  for (let t = everyMs; t <= 6_000; t += everyMs) r.served(500, t);
  for (let t = 6_000 + thenMs; t <= 8_000; t += thenMs) r.served(500, t);
  return r.drain(8_000).slotMs;
}

test('a steady drain is read over the long window: a second that wanders within the noise does not move it', () => {
  const shortOnly = drainRead(2_000, 10.3);
  const both = drainRead(8_000, 10.3);
  assert.ok(shortOnly >= 10.3, `the last second alone reads ${shortOnly}`);
  assert.ok(both < 10.1, `the long window reads ${both}`);
});

test('a drain that changes beyond the noise (an upstream failed) is followed at once', () => {
  assert.equal(drainRead(8_000, 15), drainRead(2_000, 15), 'the short window is believed');
});

test('between the noise and a change the two windows are blended: the drain rate read never jumps', () => {
  // The last 2 s drain every 10 ms + x: the read moves with the short window, at most three times as fast as it,
  // where one threshold made a 10% step.
  let last = drainRead(8_000, 10);
  let lastShort = drainRead(2_000, 10);
  for (let x = 0.1; x <= 5; x += 0.1) {
    const read = drainRead(8_000, 10 + x);
    const short = drainRead(2_000, 10 + x);
    assert.ok((read - last) * (short - lastShort) >= -1e-9, `+${x.toFixed(1)}: ${read} after ${last}`);
    assert.ok(
      Math.abs(read - last) <= 3 * Math.abs(short - lastShort) + 1e-9,
      `+${x.toFixed(1)}: a step from ${last} to ${read}`,
    );
    last = read;
    lastShort = short;
  }
  assert.equal(last, drainRead(2_000, 15), 'far apart, the short window is believed');
});

test('with few answers a second, a short window that wanders within its own counting noise does not move the rate', () => {
  // An answer every 100 ms for 6 s, then every `thenMs` for the last 2 s: some 20 answers in the short window, whose
  // count wanders by about 1/√20 (22%) of itself. A 12% slower reading is that noise, not a change (the long window
  // is believed); a fleet at half the rate is one (the short window is believed at once).
  const read = (longWindowMs: number, thenMs: number): number => drainRead(longWindowMs, thenMs, 100);
  const wandered = read(8_000, 112);
  assert.ok(read(2_000, 112) > 110, `the short window alone reads ${read(2_000, 112)}`);
  assert.ok(wandered < 105, `a wander inside the noise moved the rate to ${wandered} (the long window reads ~104)`);
  assert.equal(read(8_000, 200), read(2_000, 200), 'half the rate: the short window is believed');
});

test('an upstream out of rotation leaves the drain rate at once, and comes back into it at its own rate', () => {
  // Saturated from 0: `a` answers every 10 ms, `b` every 30 ms: together a slot every 7.5 ms.
  const r = new ServiceRates(2_000, 0, 8_000);
  r.saturated(true, 0);
  const run = (from: number, to: number, withB: boolean) => {
    for (let t = from + 10; t <= to; t += 10) {
      r.served(500, t, 'a');
      if (withB && t % 30 === 0) r.served(500, t, 'b');
    }
  };
  run(0, 6_000, true);
  assert.ok(Math.abs(r.drain(6_000).slotMs - 7.5) < 0.1, `both: ${r.drain(6_000).slotMs}`);
  // Passive health ejects `b`: the drain is `a`'s alone from that moment, not as the window fills with the outage.
  r.outOfRotation(new Set(['b']), 6_000);
  assert.ok(Math.abs(r.drain(6_000).slotMs - 10) < 0.1, `b out: ${r.drain(6_000).slotMs}`);
  run(6_000, 9_000, false);
  assert.ok(Math.abs(r.drain(9_000).slotMs - 10) < 0.1, `b still out: ${r.drain(9_000).slotMs}`);
  // `b` is back: its rate is the one it had in rotation, the 3 s it was out do not dilute it.
  r.outOfRotation(new Set(), 9_000);
  assert.ok(Math.abs(r.drain(9_000).slotMs - 7.5) < 0.1, `b back: ${r.drain(9_000).slotMs}`);
  assert.ok(
    Math.abs((r.drain(9_000).recentSlotMs ?? 0) - 7.5) < 0.1,
    `b back, last seconds: ${r.drain(9_000).recentSlotMs}`,
  );
});

test('with every upstream in rotation the drain rate is the pooled one', () => {
  const pooled = new ServiceRates(2_000, 0, 8_000);
  const split = new ServiceRates(2_000, 0, 8_000);
  for (const r of [pooled, split]) r.saturated(true, 0);
  for (let t = 7; t <= 8_000; t += 7) {
    pooled.served(500, t);
    split.served(500, t, t % 3 === 0 ? 'a' : 'b');
  }
  assert.ok(Math.abs(pooled.drain(8_000).slotMs - split.drain(8_000).slotMs) < 1e-9);
  assert.ok(Math.abs((pooled.drain(8_000).recentSlotMs ?? 0) - (split.drain(8_000).recentSlotMs ?? 0)) < 1e-9);
});
