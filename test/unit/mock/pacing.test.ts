import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutIndex, schedule, type Frame } from '../../../src/mock/pacing.ts';

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
  assert.deepEqual(steps.map((s) => s.data), ['R', 'a', 'b']);
  assert.deepEqual(schedule(frames, { ttftMs: 0, tokenMs: 0, buffered: false, cutAfterTokens: 0 }), []);
});
