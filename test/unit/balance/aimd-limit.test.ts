import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit, PROBE_HOLD_MS, STATED_HOLD_MS } from '../../../src/balance/aimd-limit.ts';

const settings = { max: 20, minLimit: 2, decreaseFactor: 0.5, decreaseIntervalMs: 1000 };

test('AIMD: overload halves the limit once per interval, successes climb back additively, within bounds', () => {
  const l = new AimdLimit(settings);
  assert.equal(l.limit, 20);
  const steps: [('success' | 'overload' | 'neutral'), number, number][] = [
    ['overload', 0, 10],
    ['overload', 500, 10], // same moment of overload: counted once
    ['overload', 1000, 5],
    ['neutral', 1100, 5],
    ['overload', 2000, 2],
    ['overload', 3000, 2], // never below minLimit
  ];
  for (const [signal, at, want] of steps) {
    l.record(signal, at);
    assert.equal(l.limit, want, `${signal} at ${at}`);
  }
  for (let i = 0; i < 6; i++) l.record('success', 4000);
  assert.equal(l.limit, 4, 'about +1 per round of requests');
  for (let i = 0; i < 1000; i++) l.record('success', 5000);
  assert.equal(l.limit, 20, 'never above max_concurrency');
});

test('pushback: the limit falls at once to what the upstream took, and by at least one per busy answer', () => {
  const l = new AimdLimit({ max: 256, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  const steps: [inFlight: number, want: number][] = [
    [31, 30], // no cap known: the first 429 with 31 in flight (this one included) says it took 30
    [31, 29], // an overshoot of k costs k refusals and lowers the limit by k
    [12, 11], // fewer in flight than the limit (others share the account): it took 11
    [100, 10], // a stale refusal still lowers by one
    [1, 1], // never below minLimit
  ];
  for (const [inFlight, want] of steps) {
    l.record('pushback', 0, inFlight);
    assert.equal(l.limit, want, `pushback with ${inFlight} in flight`);
  }
});

test('after a pushback the limit climbs back to the refused level, and probes above it only after a quiet spell', () => {
  const l = new AimdLimit({ max: 256, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  l.record('pushback', 0, 13); // 13 in flight refused: the cap is about 12
  assert.equal(l.limit, 12);
  l.record('pushback', 10, 13);
  assert.equal(l.limit, 11);
  for (let i = 0; i < 500; i++) l.record('success', 1_000 + i);
  assert.equal(l.limit, 11, 'held at the refused level while the hold lasts');
  for (let i = 0; i < 12; i++) l.record('success', PROBE_HOLD_MS + 100 + i);
  assert.equal(l.limit, 12, 'then it probes upward again');
});

test('a limit the upstream stated becomes the limit at once, up or down, held for a minute, never above max', () => {
  const l = new AimdLimit({ max: 256, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  const steps: [limit: number, inFlight: number, want: number][] = [
    [39, 200, 39], // 200 in flight, "limit of 39": straight there, where plain pushback would say 199
    [25, 40, 25], // the balance fell: the stated number goes down with it
    [30, 26, 25], // refused with 26 in flight while told 30: someone shares the key, we may use 25
    [50, 60, 50], // a top-up: the stated number can raise the limit
    [1000, 2000, 256], // never above max_concurrency
    [0, 5, 1], // never below minLimit
  ];
  for (const [limit, inFlight, want] of steps) {
    l.stated(limit, 0, inFlight);
    assert.equal(l.limit, want, `stated ${limit} with ${inFlight} in flight`);
  }
  l.stated(39, 0, 100);
  for (let i = 0; i < 500; i++) l.record('success', PROBE_HOLD_MS + i);
  assert.equal(l.limit, 39, 'held past a plain pushback\'s hold');
  for (let i = 0; i < 40; i++) l.record('success', STATED_HOLD_MS + i);
  assert.equal(l.limit, 40, 'then it probes upward again (the limit follows the balance)');
});
