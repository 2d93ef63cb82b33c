import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestPossible, fleetOutages, pooledSlots, serviceTimeMs, type Job } from '../../../src/storm/best-possible.ts';

const job = (arrivalMs: number, serviceMs: number, timeoutMs: number, priority: Job['priority'] = 'normal'): Job => ({
  arrivalMs,
  serviceMs,
  deadlineMs: arrivalMs + timeoutMs,
  priority,
});

test('best possible replays the arrivals on the pooled slots in deadline order (hand-computed cases)', () => {
  const cases: { name: string; slots: number; jobs: Job[]; want: boolean[] }[] = [
    { name: 'nothing to do', slots: 2, jobs: [], want: [] },
    { name: 'no slots serves nobody', slots: 0, jobs: [job(0, 1, 10)], want: [false] },
    {
      name: 'one slot, spaced arrivals: all served',
      slots: 1,
      jobs: [job(0, 5, 10), job(5, 5, 10), job(10, 5, 10)],
      want: [true, true, true],
    },
    // t=0: A on the slot until 10. B (deadline 12) cannot start before 10 → would end 20: dropped. C ends 20 ≤ 30.
    {
      name: 'one slot: a request that cannot finish is dropped, the next still served',
      slots: 1,
      jobs: [job(0, 10, 100), job(1, 10, 11), job(2, 10, 28)],
      want: [true, false, true],
    },
    // Backlog of 4 × 10 ms on 2 slots: ends at 10, 10, 20, 20 — all within 20.
    {
      name: 'two slots share a burst',
      slots: 2,
      jobs: [job(0, 10, 20), job(0, 10, 20), job(0, 10, 20), job(0, 10, 20), job(0, 10, 20)],
      want: [true, true, true, true, false],
    },
    // Both wait at t=10; earliest deadline first: the later arrival with the tighter deadline goes first.
    {
      name: 'earliest deadline first, not arrival order',
      slots: 1,
      jobs: [job(0, 10, 10), job(1, 10, 100), job(2, 10, 18)],
      want: [true, true, true],
    },
    {
      name: 'equal deadlines: high before low',
      slots: 1,
      jobs: [job(0, 10, 10), job(5, 10, 15, 'low'), job(5, 10, 15, 'high')],
      want: [true, false, true],
    },
    // The slot idles until the next arrival rather than serving nothing.
    { name: 'idle gaps', slots: 1, jobs: [job(0, 1, 1), job(100, 1, 1)], want: [true, true] },
    { name: 'a request longer than its deadline is never served', slots: 3, jobs: [job(0, 11, 10)], want: [false] },
  ];
  for (const c of cases) assert.deepEqual(bestPossible(c.jobs, c.slots), c.want, c.name);
});

test("service time is exact on one class and gives the pool the fleet's own throughput on mixed classes", () => {
  const big = { name: 'big', slots: 24, ttftMs: 250, ttftPerInFlightMs: 5, tokenMs: 10 };
  const mid = { name: 'mid', slots: 12, ttftMs: 300, tokenMs: 12 };
  // big alone: 250 + 5 × 23 + 31 × 10 = 675 ms.
  assert.equal(serviceTimeMs({ upstreams: [big] }, 32), 675);
  // big 675 ms and mid 300 + 31 × 12 = 672 ms: 36 slots / (24 / 675 + 12 / 672) per ms.
  const t = serviceTimeMs({ upstreams: [big, mid] }, 32);
  assert.ok(Math.abs(t - 36 / (24 / 675 + 12 / 672)) < 1e-9, String(t));
  // One token: 365 ms and 300 ms → 36 / (24 / 365 + 12 / 300) ≈ 340.8 ms, between the two.
  assert.ok(Math.abs(serviceTimeMs({ upstreams: [big, mid] }, 1) - 36 / (24 / 365 + 12 / 300)) < 1e-9);
  assert.equal(pooledSlots({ upstreams: [big, mid] }), 36);
  assert.equal(pooledSlots({ upstreams: [{ name: 'x' }] }), 0, 'unlimited slots are no pool to count');
  assert.equal(serviceTimeMs({ upstreams: [{ name: 'x' }] }, 4), Infinity);
  // A prompt of 3 000 tokens at 100 ms a thousand adds 300 ms to big's first token: 975 ms.
  assert.equal(serviceTimeMs({ upstreams: [{ ...big, ttftPer1kPromptTokensMs: 100 }] }, 32, true, 3_000), 975);
});

test("an outage takes its upstream's slots away while it lasts: a job there ends before it starts or starts after it ends", () => {
  const down = [{ slots: [0], startMs: 5, endMs: 50 }];
  // One slot, down from 5 to 50: A (0–4) fits before; B would run 4–14, into the outage: it starts at 50 and ends 60 ≤ 100.
  assert.deepEqual(bestPossible([job(0, 4, 10), job(1, 10, 99)], 1, down), [true, true]);
  // C cannot wait that long (deadline 30): refused, though without the outage it would have been served.
  assert.deepEqual(bestPossible([job(0, 4, 10), job(1, 10, 29)], 1, down), [true, false]);
  assert.deepEqual(bestPossible([job(0, 4, 10), job(1, 10, 29)], 1), [true, true]);
  // Two slots, one down: the other serves.
  assert.deepEqual(bestPossible([job(0, 10, 10), job(0, 10, 20)], 2, [{ slots: [1], startMs: 0, endMs: 1000 }]), [
    true,
    true,
  ]);
});

test("the fleet's outages land on its upstream's run of pooled slots", () => {
  const fleet = {
    upstreams: [
      { name: 'a', slots: 2 },
      { name: 'b', slots: 3, outages: [{ startMs: 10, endMs: 20, mode: 'refuse' as const }] },
    ],
  };
  assert.deepEqual(fleetOutages(fleet), [{ slots: [2, 3, 4], startMs: 10, endMs: 20 }]);
});
