import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blind, job } from '../../helpers/storm-jobs.ts';
import { bestPossible, type Job } from '../../../src/storm/best-possible.ts';
import { doorCeiling, meanServedMs, type DoorRule } from '../../../src/storm/door-ceiling.ts';

test('the door ceiling admits a newcomer iff it finishes in time behind the work admitted before it (hand-computed)', () => {
  const cases: { name: string; slots: number; rule?: Partial<DoorRule>; jobs: Job[]; want: boolean[] }[] = [
    { name: 'nothing to do', slots: 1, jobs: [], want: [] },
    // A holds the slot until 10; B would end at 20 > 15: refused at the door; C ends at 20 ≤ 30.
    {
      name: 'one slot: refused at the door, the next still admitted',
      slots: 1,
      jobs: [job(0, 10, 100), job(1, 10, 14), job(2, 10, 28)],
      want: [true, false, true],
    },
    // A on the slot until 10; B (ends 20) fits its deadline 20, but not 20 − a margin of 1.
    {
      name: 'the margin is kept back',
      slots: 1,
      rule: { marginMs: 1 },
      jobs: [job(0, 10, 50), job(0, 10, 20)],
      want: [true, false],
    },
    // B waits 10 and would end at 20 of its 21: normal fits, low leaves 20% of its wait (2) free and does not.
    {
      name: "a class's headroom is a share of its wait",
      slots: 1,
      rule: { headroom: { high: 0, normal: 0, low: 0.2 } },
      jobs: [job(0, 10, 50), job(0, 10, 21, 'low'), job(0, 10, 21, 'normal')],
      want: [true, false, true],
    },
    // Judged by the mean (10), the long B is admitted (5 + 10 ≤ 16) and then ends at 21: not served.
    {
      name: 'a length-blind door admits a long answer that then ends late',
      slots: 1,
      rule: { knowsLengths: false },
      jobs: [job(0, 5, 50), job(0, 16, 16), job(0, 9, 100)],
      want: [true, false, true],
    },
  ];
  for (const c of cases) assert.deepEqual(doorCeiling(c.jobs, c.slots, [], { ...blind, ...c.rule }), c.want, c.name);
});

test('a slot that goes down makes the door wait for its return, as the column does', () => {
  // The only slot is down 5–20: A (10 long) cannot start at 0, starts at 20, ends 30 ≤ 40.
  const outage = [{ slots: [0], startMs: 5, endMs: 20 }];
  assert.deepEqual(doorCeiling([job(0, 10, 40), job(0, 10, 35)], 1, outage, blind), [true, false]);
});

test('with equal deadlines and exact lengths the door reaches the column: it is not where a gateway loses', () => {
  // Deterministic pseudo-random storm: 2 slots, 1.5× their capacity for 200 requests, equal 300 ms deadlines.
  let x = 7;
  const rnd = () => (x = (x * 48271) % 2147483647) / 2147483647;
  const jobs = Array.from({ length: 200 }, (_, i) => job(i * 5, 5 + rnd() * 20, 300));
  const count = (s: boolean[]) => s.filter(Boolean).length;
  const door = count(doorCeiling(jobs, 2, [], blind));
  const column = count(bestPossible(jobs, 2));
  assert.ok(Math.abs(door - column) <= 2, `door ${door} vs column ${column}`);
  // Headroom for the lower classes costs answers: the ceiling falls.
  const low = jobs.map((j, i) => ({ ...j, priority: i % 3 === 0 ? ('low' as const) : ('normal' as const) }));
  assert.ok(count(doorCeiling(low, 2, [], { ...blind, headroom: { high: 0, normal: 0, low: 0.2 } })) < door);
});

test('the mean service time of the served jobs counts only the served ones, and is NaN when none is', () => {
  const jobs = [job(0, 10, 100), job(0, 30, 100), job(0, 20, 100)];
  assert.equal(meanServedMs(jobs, [true, false, true]), 15);
  assert.equal(meanServedMs(jobs, [true, true, true]), 20);
  assert.ok(Number.isNaN(meanServedMs(jobs, [false, false, false])));
});
