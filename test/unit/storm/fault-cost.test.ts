import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedFaultCostMs, leastFaultCostMs } from '../../../src/storm/fault-cost.ts';
import type { FaultKind } from '../../../src/mock/random-faults.ts';
import { serviceTimeMs } from '../../../src/storm/best-possible.ts';

const pace = { ttftMs: 300, tokenMs: 10 };

test('a fault costs the slot time any scheduler must pay, and nothing for noticing it', () => {
  const cases: [FaultKind, boolean, number, string][] = [
    ['error500', true, 0, 'refused at once: no slot taken'],
    ['resetBeforeHeaders', false, 0, 'dropped before headers'],
    ['error429', true, 0, 'a random 429'],
    ['blank200', false, 0, 'counted as free'],
    ['stallBeforeFirstToken', true, 300, 'the first token was due after TTFT'],
    ['resetMidStream', true, 300, 'a stream goes on exactly from the cut: one more TTFT'],
    ['resetMidStream', false, 300 + 9 * 10, 'a JSON answer is lost up to the cut (k = 20 / 2 tokens)'],
    ['stall', true, 300, 'like a cut'],
    ['truncatedBody', false, 390, 'like a cut'],
    ['slowTokens', true, 100 + 300, 'one slow gap seen, then continued elsewhere'],
  ];
  for (const [kind, stream, want, why] of cases)
    assert.equal(leastFaultCostMs(kind, 20, stream, pace, 100), want, `${kind} ${stream ? 'stream' : 'json'}: ${why}`);
});

test('on an upstream that generates on after its client leaves, a crawl holds its slot to its end whoever cuts it', () => {
  assert.equal(leastFaultCostMs('slowTokens', 20, true, pace, 100, true), 19 * 90, 'every gap 90 ms longer than usual');
  assert.equal(leastFaultCostMs('slowTokens', 20, false, pace, 100, true), 19 * 90, 'a JSON answer the same');
  assert.equal(leastFaultCostMs('resetMidStream', 20, true, pace, 100, true), 300, 'a reset frees the slot anyway');
  const generatesOn = { name: 'u', slots: 4, ttftMs: 300, tokenMs: 10, continueAfterAbort: true };
  assert.equal(
    serviceTimeMs({ upstreams: [{ ...generatesOn, faults: { slowTokens: 0.1, slowTokenMs: 100 } }] }, 21, true),
    500 + 0.1 * 20 * 90,
  );
});

test('the expected cost is the rates times their costs; no faults cost nothing', () => {
  assert.equal(expectedFaultCostMs(undefined, 20, true, pace), 0);
  const rates = { error500: 0.1, resetMidStream: 0.05, slowTokens: 0.02, slowTokenMs: 100 };
  assert.ok(Math.abs(expectedFaultCostMs(rates, 20, true, pace) - (0.05 * 300 + 0.02 * 400)) < 1e-9);
  assert.ok(
    Math.abs(expectedFaultCostMs({ slowTokens: 0.5 }, 20, true, pace) - 0.5 * (200 + 300)) < 1e-9,
    'default slow gap',
  );
});

test("the best possible's service time carries its upstream's expected fault cost", () => {
  const clean = { name: 'u', slots: 4, ttftMs: 300, tokenMs: 10 };
  const flaky = { ...clean, faults: { resetMidStream: 0.1 } };
  assert.equal(serviceTimeMs({ upstreams: [clean] }, 21, true), 500);
  assert.equal(serviceTimeMs({ upstreams: [flaky] }, 21, true), 500 + 0.1 * 300);
  assert.equal(serviceTimeMs({ upstreams: [flaky] }, 21, false), 500 + 0.1 * (300 + 9.5 * 10));
});
