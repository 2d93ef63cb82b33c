import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit, PROBE_HOLD_MS } from '../../../src/balance/aimd-limit.ts';

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
