import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowCounter } from '../../src/window-counter.ts';

test('an event counted at an earlier time leaves the window when that time does; one older than the window counts briefly', () => {
  const rows: { at: number; now: number; stillAt: number; goneAt: number }[] = [
    { at: 5_000, now: 5_000, stillAt: 14_999, goneAt: 15_000 }, // at now: the usual add
    { at: 2_000, now: 7_000, stillAt: 11_999, goneAt: 12_000 }, // charged to 2 s: gone 10 s after 2 s, not after 7 s
    { at: 0, now: 30_000, stillAt: 30_999, goneAt: 31_000 }, // older than the window: its oldest bucket, never free
  ];
  for (const r of rows) {
    const w = new WindowCounter(10_000, 0);
    w.addAt(r.now, r.at);
    assert.equal(w.total(r.stillAt), 1, `charged to ${r.at} at ${r.now}: still counted at ${r.stillAt}`);
    assert.equal(w.total(r.goneAt), 0, `charged to ${r.at} at ${r.now}: gone at ${r.goneAt}`);
  }
});
