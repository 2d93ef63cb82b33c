import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdLimit, PROBE_HOLD_MS, STATED_HOLD_MS } from '../../../src/balance/aimd-limit.ts';

const settings = { max: 20, minLimit: 2, decreaseFactor: 0.5, decreaseIntervalMs: 1000 };

test('AIMD: overload halves the limit once per interval, successes climb back additively, within bounds', () => {
  const l = new AimdLimit(settings);
  assert.equal(l.limit, 20);
  const steps: ['success' | 'overload' | 'neutral', number, number][] = [
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

test('pushback below the limit moves it only when most recent answers were busy, then to what the upstream took', () => {
  const l = new AimdLimit({ max: 256, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  // No cap known: the limit is 256, far above the account's. The first busy answers could be chance...
  l.record('pushback', 0, 31);
  l.record('pushback', 1, 31);
  assert.equal(l.limit, 256);
  // ...the third in a row is not: with 31 in flight (this one included) it took 30.
  l.record('pushback', 2, 31);
  assert.equal(l.limit, 30);
  // At the limit every busy answer counts: an overshoot of k costs k refusals and lowers the limit by k.
  l.record('pushback', 3, 30);
  l.record('pushback', 4, 29);
  assert.equal(l.limit, 28);
  for (let i = 0; i < 40; i++) l.record('success', 10 + i);
  assert.equal(l.limit, 29, 'climbing back, to just below the highest level refused');
  // A busy answer below the limit among many good ones says nothing about our load.
  l.record('pushback', 60, 12);
  assert.equal(l.limit, 29);
  l.record('pushback', 70, 1);
  assert.equal(l.limit, 29);
});

test('after a pushback the limit climbs back to just below the refused level, and probes above it only after a quiet spell', () => {
  const l = new AimdLimit({ max: 13, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  l.record('pushback', 100, 13); // 13 in flight refused, at the limit: the cap is about 12
  assert.equal(l.limit, 12);
  for (let i = 0; i < 500; i++) l.record('success', 1_000 + i);
  assert.equal(l.limit, 12, 'held just below the refused level while the hold lasts');
  for (let i = 0; i < 13; i++) l.record('success', 100 + PROBE_HOLD_MS + 100 + i);
  assert.equal(l.limit, 13, 'then it probes upward again');
});

test('random busy answers do not pull the limit down for good', () => {
  // An upstream that answers some of its requests 503 whatever the load: each second one of them arrives with the
  // limit's worth in flight, between them twenty successes.
  const l = new AimdLimit({ max: 16, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  for (let s = 0; s < 60; s++) {
    l.record('pushback', s * 1000, l.limit);
    for (let i = 0; i < 20; i++) l.record('success', s * 1000 + 10 + i);
  }
  assert.ok(l.limit >= 10, `the limit settled at ${l.limit}`);
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
  assert.equal(l.limit, 39, "held past a plain pushback's hold");
  for (let i = 0; i < 40; i++) l.record('success', STATED_HOLD_MS + i);
  assert.equal(l.limit, 40, 'then it probes upward again (the limit follows the balance)');
});

test('a refusal just after our own cut steps down without a hold at the limit, and below it weighs like any pushback', () => {
  const rows: [name: string, inFlight: number, limitAfter: number][] = [
    ['at the limit: just below what was in flight', 20, 19],
    ['below the limit, among good answers: nothing moves', 12, 20],
  ];
  for (const [name, inFlight, limitAfter] of rows) {
    const l = new AimdLimit(settings);
    for (let i = 0; i < 20; i++) l.record('success', 0);
    l.stepDown(100, inFlight);
    assert.equal(l.limit, limitAfter, name);
  }
  // Most recent answers busy below the limit: the pushback rule takes it to what the upstream took, and holds it.
  const l = new AimdLimit(settings);
  for (let i = 0; i < 3; i++) l.stepDown(100 + i, 12);
  assert.equal(l.limit, 11);
  for (let i = 0; i < 100; i++) l.record('success', 200);
  assert.equal(l.limit, 11, 'held below the refused level, as any pushback');
});

test('an engine with its own queue sets the limit to what it runs of ours, held like a pushback', () => {
  const l = new AimdLimit({ max: Infinity, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  l.queued(0, 40);
  assert.equal(l.limit, 40, 'no cap known: the first reading of its queue says at once what it runs of ours');
  l.queued(100, 55);
  assert.equal(l.limit, 40, 'a later reading of more never raises it');
  l.queued(200, 18);
  assert.equal(l.limit, 18, 'each lower one refines it downward');
  l.queued(300, 0);
  assert.equal(l.limit, 1, 'never below min_limit');
  for (let i = 0; i < 100; i++) l.record('success', 400);
  assert.equal(l.limit, 1, 'held at the queued level while the probe hold lasts');
  for (let i = 0; i < 3; i++) l.record('success', 300 + PROBE_HOLD_MS);
  assert.ok(l.limit > 1, 'then it probes upward again: an engine can grow');
});

test('an estimate of what a silent engine runs sets the limit, and while its hold lasts the newest one stands', () => {
  const l = new AimdLimit({ max: 256, minLimit: 1, decreaseFactor: 0.8, decreaseIntervalMs: 1000 });
  // at, estimate → limit
  const steps: [number, number, number][] = [
    [0, 14, 14], // no cap known: the first estimate brings 256 down at once
    [500, 17, 17], // within the hold a later, higher estimate stands (the first was made while the queue grew)
    [1000, 16, 16], // and a lower one too
    [1000 + PROBE_HOLD_MS, 300, 16], // outside a hold a higher one says nothing new
  ];
  for (const [at, runs, want] of steps) {
    l.estimated(at, runs);
    assert.equal(l.limit, want, `estimate ${runs} at ${at}`);
  }
  for (let i = 0; i < 100; i++) l.record('success', 2000);
  assert.equal(l.limit, 16, 'held at the estimate while the hold lasts');
  for (let i = 0; i < 40; i++) l.record('success', 1000 + PROBE_HOLD_MS);
  assert.ok(l.limit > 16, 'then it probes upward again');
  l.estimated(2000 + PROBE_HOLD_MS, 15);
  assert.equal(l.limit, 15, 'until the next queue is found');
});
