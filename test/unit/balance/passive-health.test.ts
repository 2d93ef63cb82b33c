import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHEAP_PROBE_MS, PassiveHealth } from '../../../src/balance/passive-health.ts';

const settings = {
  failureThreshold: 3,
  failureRatePercent: 50,
  failureRateMinRequests: 10,
  failureRateWindowMs: 10_000,
  ejectionBaseMs: 1000,
  ejectionMaxMs: 8000,
  maxEjectedPercent: 50,
};

test('an upstream is ejected after consecutive failures and probed back after the ejection time', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  assert.equal(h.record('a', true, 0), false);
  assert.equal(h.record('a', true, 1), false);
  assert.equal(h.record('a', true, 2), true);
  assert.equal(h.state('a', 500), 'ejected');
  assert.equal(h.available('a', 500), false);
  assert.equal(h.retryInMs(['a'], 500), 502);
  assert.equal(h.state('a', 1002), 'half_open');
  assert.equal(h.available('a', 1002), true);
  h.onSend('a', 1002);
  assert.equal(h.available('a', 1003), false, 'only one probe at a time');
  h.record('a', false, 1100);
  assert.equal(h.state('a', 1100), 'healthy');
});

test('a success resets the count of consecutive failures', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  h.record('a', true, 0);
  h.record('a', true, 0);
  h.record('a', false, 0);
  assert.equal(h.record('a', true, 0), false);
  assert.equal(h.state('a', 0), 'healthy');
});

test('ejection time doubles for a failed probe and is capped', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  const table: { at: number; want: number }[] = [];
  let t = 0;
  for (let i = 0; i < 3; i++) h.record('a', true, t);
  let until = 1000;
  for (const expected of [2000, 4000, 8000, 8000]) {
    t = until;
    h.onSend('a', t);
    assert.equal(h.record('a', true, t), true);
    until = t + expected;
    table.push({ at: t, want: expected });
    assert.equal(h.retryInMs(['a'], t), expected);
  }
  assert.equal(table.length, 4);
});

test('a cancelled probe frees the probe slot', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  for (let i = 0; i < 3; i++) h.record('a', true, 0);
  h.onSend('a', 1000);
  assert.equal(h.available('a', 1000), false);
  h.cancelProbe('a');
  assert.equal(h.available('a', 1000), true);
});

test('never more than max_ejected_percent of upstreams are out, but at least one may be', () => {
  const h = new PassiveHealth(['a', 'b', 'c', 'd'], settings);
  for (let i = 0; i < 3; i++) h.record('a', true, 0);
  for (let i = 0; i < 3; i++) h.record('b', true, 0);
  for (let i = 0; i < 3; i++) h.record('c', true, 0);
  assert.equal(h.state('a', 1), 'ejected');
  assert.equal(h.state('b', 1), 'ejected');
  assert.equal(h.state('c', 1), 'healthy', 'a third ejection would exceed 50%');
  const single = new PassiveHealth(['only'], settings);
  for (let i = 0; i < 3; i++) single.record('only', true, 0);
  assert.equal(single.state('only', 1), 'ejected');
  const never = new PassiveHealth(['x', 'y'], { ...settings, maxEjectedPercent: 0 });
  for (let i = 0; i < 10; i++) never.record('x', true, 0);
  assert.equal(never.state('x', 1), 'healthy');
});

test('an upstream failing half its attempts is ejected even without consecutive failures', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  let ejected = false;
  for (let i = 0; i < 10 && !ejected; i++) ejected = h.record('a', i % 2 === 1, i * 100);
  assert.equal(ejected, true, 'five failures in ten attempts');
  const fine = new PassiveHealth(['a', 'b'], settings);
  for (let i = 0; i < 30; i++) assert.equal(fine.record('a', i % 3 === 0, i * 100), false, 'a third is under the rate');
});

test('the failure rate only counts attempts inside its window', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  for (let i = 0; i < 8; i++) h.record('a', i % 2 === 0, 0);
  assert.equal(h.record('a', true, 20_000), false, 'the old attempts have left the window');
});

test('a probe that fails cheaply keeps the time out short; a costly one doubles it', () => {
  const h = new PassiveHealth(['a', 'b'], settings);
  for (let i = 0; i < 3; i++) h.record('a', true, 0, 1);
  assert.equal(h.retryInMs(['a'], 0), 1000);
  const rows: { costMs: number; want: number }[] = [
    { costMs: 2, want: 1000 }, // connection refused: the outage may end any moment, probe again in 1 s
    { costMs: CHEAP_PROBE_MS - 1, want: 1000 },
    { costMs: 3000, want: 2000 }, // the probe hung until its timeout: back off
    { costMs: 1, want: 2000 }, // cheap again: stays where it is, does not shrink
    { costMs: CHEAP_PROBE_MS, want: 4000 },
  ];
  let t = 1000;
  for (const { costMs, want } of rows) {
    h.onSend('a', t);
    assert.equal(h.record('a', true, t, costMs), true, `a failed probe (${costMs} ms) ejects again`);
    assert.equal(h.retryInMs(['a'], t), want, `after a probe of ${costMs} ms`);
    t += want;
  }
});
