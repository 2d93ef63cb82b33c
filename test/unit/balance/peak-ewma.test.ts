import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeakEwma } from '../../../src/balance/peak-ewma.ts';

test('peak EWMA believes a slow answer at once and a fast one gradually', () => {
  const e = new PeakEwma(10_000, 0);
  e.observe(100, 0);
  assert.equal(e.get(), 100);
  e.observe(1000, 100);
  assert.equal(e.get(), 1000, 'a peak is taken at once');
  e.observe(100, 200);
  assert.ok(e.get() > 950, `one fast answer 100 ms later barely moves it (${e.get()})`);
  e.observe(100, 30_200);
  assert.ok(e.get() < 160, `after three time constants it has mostly decayed (${e.get()})`);
});
