import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { SlidingWindowLimiter, retryAfterSeconds } from '../../../src/mock/rate-limit.ts';

/** Admits like the mock does: ask, and record only when admitted. Returns the wait of each refusal (0: admitted). */
function offer(limiter: SlidingWindowLimiter, key: string, now: number): number {
  const wait = limiter.waitMs(key, now);
  if (wait === 0) limiter.record(key, now);
  return wait;
}

test('N+k requests within one window: exactly N admitted, k refused with the time until the oldest leaves', () => {
  const clock = new FakeClock(1000);
  const limiter = new SlidingWindowLimiter(5, 60_000);
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    waits.push(offer(limiter, 'k', clock.now()));
    clock.advance(100);
  }
  assert.equal(waits.filter((w) => w === 0).length, 5);
  // The 6th request comes at 1500; the first admission (at 1000) leaves the window at 61000.
  assert.deepEqual(waits.slice(5), [59_500, 59_400, 59_300]);
});

test('the window slides: a place frees exactly when the oldest admission is a window old', () => {
  const clock = new FakeClock();
  const limiter = new SlidingWindowLimiter(2, 1000);
  assert.equal(offer(limiter, 'k', clock.now()), 0); // t=0
  clock.set(400);
  assert.equal(offer(limiter, 'k', clock.now()), 0); // t=400
  clock.set(999);
  assert.equal(offer(limiter, 'k', clock.now()), 1);
  clock.set(1000);
  assert.equal(offer(limiter, 'k', clock.now()), 0, 'the t=0 admission has left');
  clock.set(1399);
  assert.equal(offer(limiter, 'k', clock.now()), 1, 'the t=400 one has not');
  clock.set(1400);
  assert.equal(offer(limiter, 'k', clock.now()), 0);
});

test('refused requests do not use up places, and keys are counted apart', () => {
  const limiter = new SlidingWindowLimiter(1, 1000);
  assert.equal(offer(limiter, 'a', 0), 0);
  for (let i = 0; i < 10; i++) assert.ok(offer(limiter, 'a', 10) > 0);
  assert.equal(offer(limiter, 'b', 10), 0);
  assert.equal(offer(limiter, 'a', 1000), 0, 'the refusals did not push the window');
});

test('Retry-After is whole seconds, rounded up, never 0', () => {
  const table: [number, number][] = [
    [0, 1],
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [59_500, 60],
  ];
  for (const [ms, s] of table) assert.equal(retryAfterSeconds(ms), s, String(ms));
  assert.throws(() => new SlidingWindowLimiter(0), /limit=0/);
});
