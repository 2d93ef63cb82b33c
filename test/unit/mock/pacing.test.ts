import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cutIndex,
  jitterSteps,
  loadedTtftMs,
  promptPrefillMs,
  schedule,
  type Frame,
} from '../../../src/mock/pacing.ts';
import { createRng } from '../../../src/mock/rng.ts';

// role chunk, three tokens, finish chunk, [DONE]
const frames: Frame[] = [
  { data: 'R', token: false },
  { data: 'a', token: true },
  { data: 'b', token: true },
  { data: 'c', token: true },
  { data: 'F', token: false },
  { data: 'D', token: false },
];

test('a stream waits ttft for its first token (sent with the role chunk), then token_ms per token', () => {
  assert.deepEqual(schedule(frames, { ttftMs: 100, tokenMs: 10, buffered: false }), [
    { delayMs: 100, data: 'R' },
    { delayMs: 0, data: 'a' },
    { delayMs: 10, data: 'b' },
    { delayMs: 10, data: 'c' },
    { delayMs: 0, data: 'F' },
    { delayMs: 0, data: 'D' },
  ]);
});

test('a non-stream answer is one write after the whole generation time', () => {
  assert.deepEqual(schedule(frames, { ttftMs: 100, tokenMs: 10, buffered: true }), [{ delayMs: 120, data: 'RabcFD' }]);
});

test('with no latency everything is due at once', () => {
  assert.ok(schedule(frames, { ttftMs: 0, tokenMs: 0, buffered: false }).every((s) => s.delayMs === 0));
});

test('keep-alive lines are spread over the time to first token', () => {
  assert.deepEqual(schedule(frames, { ttftMs: 90, tokenMs: 0, buffered: true, blankLines: 2, keepAliveLine: '\n' }), [
    { delayMs: 30, data: '\n' },
    { delayMs: 30, data: '\n' },
    { delayMs: 30, data: 'RabcFD' },
  ]);
});

test('a cut keeps frames up to the Nth token and drops the end of the answer', () => {
  assert.equal(cutIndex(frames, 0), 0);
  assert.equal(cutIndex(frames, 2), 3);
  assert.equal(cutIndex(frames, 99), 4, 'more tokens than the answer has: cut after the last, before the finish');
  const steps = schedule(frames, { ttftMs: 0, tokenMs: 5, buffered: false, cutAfterTokens: 2 });
  assert.deepEqual(
    steps.map((s) => s.data),
    ['R', 'a', 'b'],
  );
  assert.deepEqual(schedule(frames, { ttftMs: 0, tokenMs: 0, buffered: false, cutAfterTokens: 0 }), []);
});

test('TTFT grows with load: base plus the per-request cost of every other request being answered', () => {
  const table: [number, number, number, number][] = [
    // ttftMs, perInFlightMs, others, expected
    [200, 0, 50, 200],
    [200, 25, 0, 200],
    [200, 25, 1, 225],
    [200, 25, 8, 400],
    [0, 10, 3, 30],
  ];
  for (const [base, per, others, want] of table)
    assert.equal(loadedTtftMs(base, per, others), want, `${base}+${per}x${others}`);
  assert.ok(loadedTtftMs(100, 10, 5) > loadedTtftMs(100, 10, 4), 'strictly more with more load');
});

test("a long prompt's prefill: the first token comes later by the time per thousand prompt tokens", () => {
  const table: [number, number, number][] = [
    // per 1 000 prompt tokens (ms), prompt tokens, expected (ms)
    [0, 8_000, 0],
    [100, 0, 0],
    [100, 500, 50],
    [100, 8_000, 800],
    [250, 32_000, 8_000],
  ];
  for (const [per1k, tokens, want] of table) assert.equal(promptPrefillMs(per1k, tokens), want, `${per1k}x${tokens}`);
});

test('jitter keeps each delay within ±pct, varies it, leaves zero delays alone, and repeats with the seed', () => {
  const steps = Array.from({ length: 200 }, (_, i) => ({ delayMs: i % 4 === 0 ? 0 : 100, data: String(i) }));
  const a = jitterSteps(steps, 20, createRng(5));
  assert.deepEqual(jitterSteps(steps, 20, createRng(5)), a);
  assert.ok(a.every((s, i) => (steps[i]?.delayMs === 0 ? s.delayMs === 0 : s.delayMs >= 80 && s.delayMs <= 120)));
  assert.ok(new Set(a.map((s) => s.delayMs)).size > 10, 'the delays differ');
  assert.deepEqual(
    a.map((s) => s.data),
    steps.map((s) => s.data),
  );
  assert.equal(jitterSteps(steps, 0, createRng(5)), steps, 'no jitter: the same steps');
});
