import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadScenario } from '../../../src/storm/scenario.ts';

test('a scenario\'s capacity is what its fleet serves with every slot busy, load-dependent TTFT included', () => {
  const s = loadScenario(new URL('../../../bench/scenarios/overload.yaml', import.meta.url).pathname);
  // Mean max_tokens 32. big: TTFT 250 ms + 5 ms for each of the 23 other requests in flight; mid and small: flat.
  const expected = 24 / (0.25 + 23 * 0.005 + 32 * 0.01) + 12 / (0.3 + 32 * 0.012) + 6 / (0.4 + 32 * 0.015);
  assert.ok(Math.abs(s.capacityRps - expected) < 1e-9, `${s.capacityRps} ≠ ${expected}`);
  // The rate curve is in multiples of it: the 1.0× phase is exactly the capacity.
  assert.ok(Math.abs((s.curve[2] as readonly [number, number])[1] - expected) < 1e-9);
});
