import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DegradeMonitor } from '../../../src/admission/degrade-monitor.ts';

test('degrade mode turns on with a deep queue or a high shed rate, and off when they pass', () => {
  const m = new DegradeMonitor({ queueDepth: 50, shedPercent: 10, windowMs: 10_000 }, 0);
  assert.equal(m.active(49, 0), false);
  assert.equal(m.active(50, 0), true);
  for (let i = 0; i < 30; i++) m.arrival(100);
  for (let i = 0; i < 2; i++) m.shed(100);
  assert.equal(m.active(0, 200), false, '2 of 30 is under 10%');
  for (let i = 0; i < 2; i++) m.shed(300);
  assert.equal(m.active(0, 400), true, '4 of 30 is over 10%');
  assert.equal(m.active(0, 20_000), false, 'the window has moved on');
  const few = new DegradeMonitor({ queueDepth: null, shedPercent: 10, windowMs: 10_000 }, 0);
  for (let i = 0; i < 5; i++) {
    few.arrival(0);
    few.shed(0);
  }
  assert.equal(few.active(0, 1), false, 'five requests are too few to judge');
});
