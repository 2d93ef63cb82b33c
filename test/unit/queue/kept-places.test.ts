import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeptPlaces } from '../../../src/queue/kept-places.ts';

test('a kept place is work every newcomer of its class and below leaves clear, and no higher class', () => {
  const kept = new KeptPlaces();
  kept.keep('low', 2_000, 1.5, 0);
  kept.keep('normal', 2_000, 0.5, 0);
  kept.keep('high', 2_000, 2, 0);
  const rows: [Parameters<KeptPlaces['workFor']>[0], number][] = [
    ['high', 2],
    ['normal', 2.5],
    ['low', 4],
  ];
  for (const [priority, work] of rows) assert.equal(kept.workFor(priority, 100), work, priority);
});

test('a place lapses a little after the time its Retry-After named: a second, or a quarter of the wait when longer', () => {
  const rows: { returnAt: number; keptUntil: number }[] = [
    { returnAt: 1_000, keptUntil: 2_000 },
    { returnAt: 4_000, keptUntil: 5_000 },
    { returnAt: 20_000, keptUntil: 25_000 },
    { returnAt: 60_000, keptUntil: 75_000 },
  ];
  for (const { returnAt, keptUntil } of rows) {
    const lapsed: string[] = [];
    const kept = new KeptPlaces((priority) => lapsed.push(priority));
    kept.keep('normal', returnAt, 1, 0);
    assert.equal(kept.workFor('normal', keptUntil - 1), 1, `kept until just before ${keptUntil}`);
    assert.deepEqual(lapsed, []);
    assert.equal(kept.workFor('normal', keptUntil), 0, `lapsed at ${keptUntil}`);
    assert.equal(kept.size(keptUntil), 0);
    assert.deepEqual(lapsed, ['normal'], 'told once');
  }
});

test('a client back claims one place of its own class, the one kept longest; none of its class leaves the rest', () => {
  const kept = new KeptPlaces();
  kept.keep('low', 1_000, 1, 0);
  kept.keep('low', 3_000, 2, 0);
  kept.keep('normal', 1_000, 4, 0);
  assert.equal(kept.claim('high', 500), false);
  assert.equal(kept.size(500), 3, 'no high place: nothing claimed');
  assert.equal(kept.claim('low', 1_000), true);
  assert.equal(kept.workFor('low', 1_000), 6, 'the low place of work 1 is gone');
  kept.claim('normal', 1_000);
  assert.equal(kept.workFor('normal', 1_000), 0);
  assert.equal(kept.workFor('low', 1_000), 2);
});

test('places are bounded: a flood of refusals keeps at most 256 at once, and they lapse on their own', () => {
  const kept = new KeptPlaces();
  let keptAt = 0;
  for (let i = 0; i < 10_000; i++) if (kept.keep('low', 1_000, 1, 0)) keptAt++;
  assert.equal(keptAt, 256);
  assert.equal(kept.size(0), 256);
  assert.equal(kept.workFor('low', 0), 256);
  assert.equal(kept.size(2_000), 0);
  kept.keep('low', 3_000, 1, 2_000);
  assert.equal(kept.size(2_000), 1, 'room again once the flood lapsed');
});
