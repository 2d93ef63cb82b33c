import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOCK_DEFAULTS, resolveOptions } from '../../../src/mock/options.ts';
import { MOCK_PROFILES } from '../../../src/mock/profiles.ts';

test('defaults describe a fast server with no limits', () => {
  const o = resolveOptions();
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.slots, Infinity);
  assert.equal(o.reject, 503);
  assert.equal(o.defaultMaxTokens, 16);
  assert.equal(o.apiKeys, undefined);
  assert.equal(o.keepAliveMs, MOCK_DEFAULTS.keepAliveMs);
});

test('undefined values keep the defaults', () => {
  assert.equal(resolveOptions({ ttftMs: undefined }).ttftMs, 0);
});

test('nonsense options fail at start with every problem named', () => {
  assert.throws(
    () => resolveOptions({ slots: -1, reject: 500 as 503, defaultMaxTokens: 0 }),
    (e: Error) => /slots=-1/.test(e.message) && /reject=500/.test(e.message) && /defaultMaxTokens/.test(e.message),
  );
});

test('every profile resolves to valid options', () => {
  for (const [name, p] of Object.entries(MOCK_PROFILES)) {
    assert.doesNotThrow(() => resolveOptions(p.options), name);
  }
  assert.equal(MOCK_PROFILES.busy.options.slots, 4);
});

test('the storm-lab options are checked too: rpm, jitter, fault rates, outages', () => {
  assert.throws(
    () =>
      resolveOptions({
        rpm: 0,
        perKeyRpm: 1.5,
        jitterPct: 101,
        ttftPerInFlightMs: -1,
        faults: { error500: 0.7, stall: 0.7 },
        outages: [{ startMs: 10, endMs: 5, mode: 'refuse' }],
      }),
    (e: Error) =>
      ['rpm=0', 'perKeyRpm=1.5', 'jitterPct=101', 'ttftPerInFlightMs=-1', 'add up to 1.4', 'outages[0].endMs=5'].every(
        (s) => e.message.includes(s),
      ),
  );
  const o = resolveOptions({
    rpm: 10,
    faults: { error500: 0, slowTokenMs: 5 },
    outages: [{ startMs: 0, endMs: 5, mode: 'hang' }],
  });
  assert.equal(o.rpm, 10);
  assert.equal(o.faults, undefined, 'all rates 0: no draw per request');
  assert.equal(o.continueAfterAbort, false);
  assert.deepEqual(o.outages, [{ startMs: 0, endMs: 5, mode: 'hang' }]);
});

test('the storm profile is busy, flaky and rate limited', () => {
  const o = resolveOptions(MOCK_PROFILES.storm.options);
  assert.ok(o.slots < Infinity && o.queueSize > 0, 'busy');
  assert.ok(o.faults !== undefined && (o.faults.error500 ?? 0) > 0 && (o.faults.resetMidStream ?? 0) > 0, 'flaky');
  assert.ok(o.rpm !== undefined, 'rate limited');
  assert.ok(o.ttftPerInFlightMs > 0 && o.jitterPct > 0);
});
