import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { collectStartupGarbage } from '../../../src/lifecycle/collect-startup-garbage.ts';

const newSpaceBytes = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? NaN;

test('collecting the startup garbage shrinks the young generation back and exposes no gc to the gateway', () => {
  // What starting does to the young generation: many objects that live for a while, then die.
  let kept = 0;
  for (let round = 0; round < 40; round++) {
    const keep = Array.from({ length: 20_000 }, (_, i) => ({ round, i, text: `item ${i}` }));
    kept += keep.length;
  }
  assert.equal(kept, 800_000);
  const before = newSpaceBytes();
  collectStartupGarbage();
  const after = newSpaceBytes();
  assert.ok(after < before, `young generation ${before} -> ${after} bytes`);
  assert.ok(after <= 1024 * 1024, `young generation still ${after} bytes after the collection`);
  assert.equal('gc' in globalThis, false);
});
