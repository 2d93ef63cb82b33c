import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blind, job } from '../../helpers/storm-jobs.ts';
import type { Job } from '../../../src/storm/best-possible.ts';
import { bestHeadroomUnderAcceptance, displacingDoorCeiling } from '../../../src/storm/displacing-ceiling.ts';

test('a displacing door takes lower-class work out of the plan, lowest class and latest first (hand-computed)', () => {
  const cases: { name: string; jobs: Job[]; served: boolean[]; displaced: number }[] = [
    // A runs 0–10; B (low) is planned 10–20; high C (due 22) would end at 30 behind it: B goes, C runs 10–20.
    {
      name: 'a high newcomer that does not fit displaces a waiting low one',
      jobs: [job(0, 10, 100), job(1, 10, 25, 'low'), job(2, 10, 20, 'high')],
      served: [true, false, true],
      displaced: 1,
    },
    // Planned: B 10–15, C 15–20, D 20–25; high E (due 22) ends at 30. Without D it ends at 25, without B too at 20.
    {
      name: 'victims: the lowest class first, the latest first, until the newcomer fits',
      jobs: [job(0, 10, 100), job(1, 5, 50, 'low'), job(1, 5, 50), job(2, 5, 50, 'low'), job(3, 5, 19, 'high')],
      served: [true, false, true, false, true],
      displaced: 2,
    },
    // A (low) started at 0: nothing waits to be displaced, so high B (ends 20 > 16) is refused at the door.
    {
      name: 'work that has started is never displaced',
      jobs: [job(0, 10, 100, 'low'), job(1, 10, 15, 'high')],
      served: [true, false],
      displaced: 0,
    },
    // B (normal) waits; a normal newcomer C that does not fit is refused, never let in by displacing.
    {
      name: 'only high displaces',
      jobs: [job(0, 10, 100), job(1, 10, 25, 'low'), job(2, 10, 20)],
      served: [true, true, false],
      displaced: 0,
    },
  ];
  for (const c of cases) {
    const got = displacingDoorCeiling(c.jobs, 1, [], blind);
    assert.deepEqual(got, { served: c.served, displaced: c.displaced }, c.name);
  }
});

test('the best headroom under the acceptance is the one that serves most without breaking high 100% or the late share', () => {
  // Low B (due 20.5) fits behind A until its headroom (2.5% × scale of its 9 ms wait) exceeds 0.5 ms: from scale 3 it
  // is refused at the door, and high C then fits without displacing it.
  const jobs = [job(0, 10, 100), job(1, 10, 19.5, 'low'), job(2, 5, 20, 'high')];
  const strict = bestHeadroomUnderAcceptance(jobs, 1, [], 0);
  assert.equal(strict?.scale, 3);
  assert.deepEqual(strict?.result, { served: [true, false, true], displaced: 0 });
  // Allowed a late refusal in two, the smallest headroom tried serves as many.
  assert.equal(bestHeadroomUnderAcceptance(jobs, 1, [], 0, 0.5)?.scale, 0);
  // A high request that cannot be served at all: no headroom meets high 100%.
  assert.equal(bestHeadroomUnderAcceptance([job(0, 10, 100, 'high'), job(1, 10, 15, 'high')], 1, [], 0), undefined);
});
