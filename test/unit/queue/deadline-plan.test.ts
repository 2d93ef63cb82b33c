import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  admit,
  eligiblePrefix,
  orderOf,
  positionOf,
  recheck,
  type Pace,
  type Waiting,
} from '../../../src/queue/deadline-plan.ts';
import type { Priority } from '../../../src/priority.ts';

/** One slot frees every 100 ms; an answer takes 1 s. */
const pace: Pace = { now: 0, slotMs: 100, serviceMs: 1000 };
const w = (priority: Priority, deadlineAt: number): Waiting & { name: string } => ({
  priority,
  deadlineAt,
  name: `${priority}@${deadlineAt}`,
});
/** `n` entries of class `p`, all with deadline `at`. */
const many = (n: number, p: Priority, at: number) => Array.from({ length: n }, () => w(p, at));

test('a newcomer is refused at the door iff the work ahead of it cannot finish by its deadline', () => {
  // With k entries ahead it finishes at (k + 1) × 100 + 1000 ms.
  const rows: [ahead: number, deadlineAt: number, ok: boolean][] = [
    [0, 1100, true],
    [0, 1099, false],
    [89, 10_000, true], // finishes at 10 000: just in time
    [90, 10_000, false],
  ];
  for (const [ahead, deadlineAt, ok] of rows) {
    const got = admit(many(ahead, 'normal', 5_000), w('normal', deadlineAt), pace, 0);
    assert.equal(got.ok, ok, `${ahead} ahead, deadline ${deadlineAt}`);
    if (!got.ok) assert.ok(got.overMs > 0 && got.overMs <= 100);
  }
});

test('low is served when the backlog allows: no guess about later arrivals, only its headroom', () => {
  const backlog = many(150, 'high', 17_000); // 15 s of work ahead, all of it high
  assert.equal(
    admit(backlog, w('low', 30_000), pace, 0.1).ok,
    true,
    '16.1 s of work and 10% of it as headroom fit 30 s',
  );
  assert.equal(admit(backlog, w('low', 17_000), pace, 0.1).ok, false, '16.1 s and 1.51 s of headroom do not fit 17 s');
  assert.equal(
    admit(backlog, w('low', 17_000), pace, 0).ok,
    true,
    'without headroom (a client back after our Retry-After) it fits',
  );
});

test('an entry with a later deadline does not stand ahead of a newcomer', () => {
  const later = many(500, 'high', 60_000);
  assert.equal(admit(later, w('low', 1_500), pace, 0).ok, true);
});

test('a high request that cannot finish in time displaces the least urgent lower-class work ahead of it, and only that', () => {
  const lowA = w('low', 9_000);
  const lowB = w('low', 9_500);
  const normal = w('normal', 9_600);
  const queue = [...many(88, 'high', 9_000), lowA, lowB, normal].sort((a, b) => a.deadlineAt - b.deadlineAt);
  // 91 ahead: finishes at 10 200, 200 ms late: two slots to free, from one normal and two lows.
  const got = admit(queue, w('high', 10_000), pace, 0);
  assert.ok(got.ok);
  assert.deepEqual(
    got.displace.map((x) => x.name),
    [lowB.name, lowA.name],
    'the lowest class first, the latest deadline first',
  );
  // Only high displaces: a normal newcomer that does not fit is refused at the door, the admitted lows keep their place.
  assert.equal(admit(queue, w('normal', 10_000), pace, 0).ok, false);
  // Nor does a request let itself in by displacing when it only misses its headroom.
  assert.equal(admit(queue, w('high', 10_250), pace, 0.01).ok, false);
  // Nobody is displaced for a newcomer of the same class.
  assert.equal(admit(many(95, 'low', 9_000), w('low', 10_000), pace, 0).ok, false);
});

test('a newcomer with a shorter deadline is refused rather than cost an admitted peer of its class its deadline', () => {
  const peers = [w('normal', 1_190), w('normal', 2_200)];
  assert.equal(
    admit(peers, w('normal', 1_150), pace, 0).ok,
    false,
    'the peer with deadline 1 190 would finish at 1 200',
  );
  assert.equal(admit([w('high', 1_190)], w('high', 1_150), pace, 0).ok, false, 'the same holds in any class');
  assert.equal(
    admit(peers, w('high', 1_150), pace, 0).ok,
    true,
    "a higher class goes ahead: the lower one behind is the re-check's to displace",
  );
});

test('a retry of admitted work takes its place by its deadline: the peers behind it lose a slot, it is not refused', () => {
  const peers = [w('high', 1_190), w('high', 2_200)];
  const retry = { ...w('high', 1_150), admitted: true };
  assert.equal(admit(peers, retry, pace, 0).ok, true, 'refused, the request and the work spent on it are lost');
  assert.deepEqual(admit(peers, retry, pace, 0), { ok: true, displace: [] }, 'nobody is displaced for it');
  assert.equal(
    admit(peers, { ...retry, deadlineAt: 1_050 }, pace, 0).ok,
    false,
    'a retry that cannot finish in time itself is still refused at once',
  );
});

test('priority goes first only while nobody ahead in deadline order loses their deadline by it', () => {
  const rows: [deadlines: number[], eligible: number][] = [
    [[10_000, 10_000, 10_000], 3], // plenty of slack: anyone may go first
    [[1_100, 10_000, 10_000], 1], // the first has no slot of slack: it goes first, whatever the classes
    [[1_200, 1_250, 10_000], 2], // the second (50 ms of slack) may overtake the first (100 ms), not be overtaken
    [[], 0],
  ];
  for (const [deadlines, eligible] of rows)
    assert.equal(
      eligiblePrefix(
        deadlines.map((d) => w('low', d)),
        pace,
      ),
      eligible,
      deadlines.join(','),
    );
  assert.equal(
    eligiblePrefix([w('low', 1_100), w('low', 1_100)], { ...pace, slotMs: 0 }),
    2,
    'an unknown drain rate: strict priority',
  );
});

test('the re-check drops what the drain rate no longer allows, the lower class in place of a late higher one', () => {
  const high = w('high', 3_000);
  const low = w('low', 2_900);
  const normal = w('normal', 2_950);
  const edf = [low, normal, high];
  assert.deepEqual(recheck(edf, pace, 1), [], 'one slot per 100 ms: everyone fits');
  // One slot per 800 ms now: positions finish at 1 800, 2 600, 3 400.
  const slow = { ...pace, slotMs: 800 };
  assert.deepEqual(
    recheck(edf, slow, 1).map((d) => [d.entry, d.reason]),
    [[low, 'displaced']],
    'high would be late: the low ahead of it goes',
  );
  assert.deepEqual(recheck(edf, slow, 1.25), [], 'within the margin nobody is dropped');
  assert.deepEqual(
    recheck([w('high', 1_000)], slow, 1).map((d) => d.reason),
    ['deadline_unmeetable'],
  );
  assert.deepEqual(recheck(edf, { ...slow, slotMs: 0 }, 1), [], 'unknown drain rate: nobody is dropped on a guess');
});

test('a waiting request keeps its reserve of slack: higher classes stop going first before it is used up', () => {
  const low = { ...w('low', 5_000), reserveMs: 1_000 };
  // Position 0 finishes at 1 100: 3 900 of slack, of which 1 000 is reserved, so it may still be overtaken...
  assert.equal(eligiblePrefix([low, w('high', 60_000)], pace), 2);
  // ...but not once the slack beyond its reserve is under a slot.
  assert.equal(eligiblePrefix([low, w('high', 60_000)], { ...pace, now: 2_850 }), 1);
});

test('a client back at our Retry-After is displaced last: other lower-class work makes room first', () => {
  const low = w('low', 9_000);
  const normal = w('normal', 9_500);
  const retried = { ...w('low', 9_900), promised: true }; // came last: the latest deadline of all
  const queue = [...many(88, 'high', 9_000), low, normal, retried];
  // 91 ahead: finishes at 10 200, 200 ms late: two slots to free.
  const got = admit(queue, w('high', 10_000), pace, 0);
  assert.ok(got.ok);
  assert.deepEqual(
    got.displace.map((x) => x.name),
    [low.name, normal.name],
    'the unpromised low and normal go, though the retried low has the later deadline',
  );
  const onlyPromised = [...many(89, 'high', 9_000), normal, retried];
  const forced = admit(onlyPromised, w('high', 10_000), pace, 0);
  assert.ok(forced.ok);
  assert.deepEqual(
    forced.displace.map((x) => x.name),
    [normal.name, retried.name],
    'a promised one is still displaced when nothing else can make room',
  );
});

test('a client back at our Retry-After takes the place it was promised from the newest unpromised arrivals of its class', () => {
  const older = w('low', 9_000);
  const newest = w('low', 9_600);
  const otherRetry = { ...w('low', 9_700), promised: true };
  const queue = [...many(88, 'high', 9_000), older, newest, otherRetry];
  // 91 ahead: finishes at 10 200, 200 ms late: two places to free, from unpromised lows only.
  const back = { ...w('low', 10_000), promised: true };
  assert.equal(admit(queue, back, pace, 0).ok, true);
  const got = admit(queue, back, pace, 0);
  assert.ok(got.ok);
  assert.deepEqual(
    got.displace.map((x) => x.name),
    [newest.name, older.name],
    'never another promised one',
  );
  assert.equal(admit(queue, w('low', 10_000), pace, 0).ok, false, 'an unpromised low is refused at the door');
  const tooFew = [...many(89, 'high', 9_000), newest, otherRetry];
  assert.equal(admit(tooFew, back, pace, 0).ok, false, 'without enough unpromised work of its class, refused');
});

test("a newcomer's own expected service time decides at the edge: the long answer is refused, the short one admitted", () => {
  // 89 ahead: the slot comes at 9 000 ms; the mean answer (1 s) just fits a 10 000 ms deadline.
  const ahead = many(89, 'normal', 5_000);
  const rows: [lengthFactor: number | undefined, ok: boolean][] = [
    [undefined, true], // the mean: finishes at 10 000
    [1, true],
    [0.5, true], // 9 500
    [1.2, false], // 10 200: 200 ms late
  ];
  for (const [lengthFactor, ok] of rows) {
    const got = admit(ahead, { ...w('normal', 10_000), lengthFactor }, pace, 0);
    assert.equal(got.ok, ok, `factor ${String(lengthFactor)}`);
    if (!got.ok) assert.equal(Math.round(got.overMs), 200);
  }
});

test("the work ahead is counted by its answers' expected lengths: short ones drain faster than their count says", () => {
  // 120 ahead, each expected to hold its slot half as long as the mean: 60 mean answers of work, a slot at 6 100 ms.
  const of = (n: number, lengthFactor: number) => many(n, 'normal', 7_000).map((x) => ({ ...x, lengthFactor }));
  const rows: [ahead: Waiting[], deadlineAt: number, ok: boolean, why: string][] = [
    [of(120, 0.5), 7_100, true, '60 answers of work: finishes at 7 100'],
    [of(120, 1), 7_100, false, 'the same count of mean answers: 13 100'],
    [of(60, 2), 12_999, false, '120 answers of work: 13 100'],
    [of(60, 2), 13_100, true, 'just in time'],
  ];
  for (const [ahead, deadlineAt, ok, why] of rows)
    assert.equal(admit(ahead, w('normal', deadlineAt), pace, 0).ok, ok, why);
  // The re-check counts the same way: 120 short answers due at 7 000, and one due at 7 100 behind them, all finish;
  // as mean answers, the last 60 of the 120 cannot.
  const due = w('normal', 7_100);
  assert.deepEqual(recheck([...of(120, 0.5), due], pace, 1), []);
  assert.equal(recheck([...of(120, 1), due], pace, 1).length, 60);
  // A high newcomer frees the work it lacks, not a count: 250 ms late behind short lows, it displaces five of them.
  const lows = many(120, 'low', 5_000).map((x) => ({ ...x, lengthFactor: 0.5 }));
  const got = admit(lows, w('high', 6_850), pace, 0);
  assert.ok(got.ok);
  assert.equal(got.displace.length, 5);
});

test('a waiting request is re-checked with its own service time', () => {
  // Two ahead of it: its slot at 300 ms; a 1 s answer ends at 1 300, a 2.5 s one at 2 800.
  const edf = [w('high', 5_000), w('high', 5_000), { ...w('high', 2_000), lengthFactor: 2.5 }];
  edf.sort((a, b) => a.deadlineAt - b.deadlineAt);
  assert.deepEqual(
    recheck(edf, pace, 1).map((d) => d.reason),
    ['deadline_unmeetable'],
  );
  assert.deepEqual(recheck([{ ...w('high', 2_000), lengthFactor: 1 }], pace, 1), []);
});

test('a late refusal needs the last seconds to agree: a slower long-window rate alone displaces and drops nobody', () => {
  const lowA = w('low', 9_000);
  const lowB = w('low', 9_500);
  const queue = [...many(88, 'high', 9_000), lowA, lowB];
  // On 100 ms a slot, a high newcomer at 10 000 finishes at 10 100: late, so it displaces a low.
  assert.equal(admit(queue, w('high', 10_000), pace, 0).ok, true);
  assert.equal((admit(queue, w('high', 10_000), pace, 0) as { displace: unknown[] }).displace.length, 1);
  // The last seconds drain a slot every 95 ms (an upstream came back): it finishes at 9 645, nobody is displaced.
  assert.deepEqual(admit(queue, w('high', 10_000), { ...pace, recentSlotMs: 95 }, 0), { ok: true, displace: [] });
  // Slower last seconds are no reason either way: the door's own pace decides, as before.
  assert.equal(
    (admit(queue, w('high', 10_000), { ...pace, recentSlotMs: 120 }, 0) as { displace: unknown[] }).displace.length,
    1,
  );
  // Let in on the last seconds' pace, a high newcomer with a shorter deadline than a high peer still may not cost
  // it its deadline: on 95 ms a slot the newcomer at 9 700 finishes at 9 645 (in time), and the peer at 9 720
  // behind it at 9 740 instead of 9 645 (late).
  assert.deepEqual(admit([...queue, w('high', 9_720)], w('high', 9_700), { ...pace, recentSlotMs: 95 }, 0), {
    ok: false,
    overMs: 20,
  });
  assert.equal(admit([...queue, w('high', 9_800)], w('high', 9_700), { ...pace, recentSlotMs: 95 }, 0).ok, true);
  // A normal newcomer is still refused at the door on the door's pace: a fast refusal costs nobody their wait.
  assert.equal(admit(queue, w('normal', 10_000), { ...pace, recentSlotMs: 95 }, 0).ok, false);

  // The re-check: hopeless on 800 ms a slot, not on the last seconds' 100.
  const edf = [w('low', 2_900), w('normal', 2_950), w('high', 3_000)];
  const slow = { ...pace, slotMs: 800 };
  assert.equal(recheck(edf, slow, 1).length, 1);
  assert.deepEqual(recheck(edf, { ...slow, recentSlotMs: 100 }, 1), []);
});

test('attempts in flight beyond the upstreams’ limits delay the whole queue: the door and the re-check count them', () => {
  // 20 sent before an engine was found queueing them: each finishes before a waiting request gets a slot.
  const over = { ...pace, overLimit: 20 };
  const rows: [ahead: number, deadlineAt: number, ok: boolean][] = [
    [69, 10_000, true], // (69 + 1 + 20) × 100 + 1000 = 10 000: just in time
    [70, 10_000, false],
  ];
  for (const [ahead, deadlineAt, ok] of rows)
    assert.equal(admit(many(ahead, 'normal', 5_000), w('normal', deadlineAt), over, 0).ok, ok, `${ahead} ahead`);
  const edf = [w('normal', 3_000), w('normal', 3_050)];
  assert.deepEqual(recheck(edf, pace, 1), []);
  assert.deepEqual(
    recheck(edf, over, 1).map((d) => d.reason),
    ['deadline_unmeetable', 'deadline_unmeetable'],
    'each would start after 21 slots and finish at 3 100 ms: neither fits',
  );
});

test('high stands its room earlier than its deadline, ahead of lower work due within that room, and is judged by its deadline', () => {
  const queue = [...many(30, 'normal', 8_000), ...many(20, 'low', 9_500)];
  const high = { ...w('high', 10_000), orderAt: 9_000 };
  assert.equal(positionOf(queue, orderOf(high)), 30, 'ahead of the lows due at 9.5 s, behind the normals due at 8 s');
  assert.equal(positionOf(queue, orderOf(w('high', 10_000))), 50, 'without room: behind everyone due before it');
  // 85 ahead of it: it finishes at 9.6 s, after its place (9 s) but before its deadline: admitted, nobody displaced.
  const full = many(85, 'normal', 5_000);
  assert.deepEqual(admit(full, { ...w('high', 10_000), orderAt: 9_000 }, pace, 0), { ok: true, displace: [] });
});

test('a lower class leaves room at the door for the high work that will go ahead of it by the room high keeps', () => {
  // 80 ahead: a low newcomer due at 10 s finishes at 9.1 s, inside its deadline less its 4% headroom (0.32 s). Ten
  // high requests due within their 1 s of room before it say ten more will come and stand ahead of it: 1 s more.
  const highs = Array.from({ length: 10 }, () => ({ ...w('high', 9_500), orderAt: 8_500 }));
  const queue = [...many(70, 'normal', 5_000), ...highs];
  const rows: [what: string, edf: Waiting[], newcomer: Waiting, headroom: number, ok: boolean][] = [
    ['low, behind high that keeps room', queue, w('low', 10_000), 0.04, false],
    [
      'low, behind high that keeps none',
      [...many(70, 'normal', 5_000), ...many(10, 'high', 9_500)],
      w('low', 10_000),
      0.04,
      true,
    ],
    ['low, behind high due too long before it to come back', queue, w('low', 10_600), 0.04, true],
    ['a client back at our Retry-After (no headroom)', queue, w('low', 10_000), 0, true],
    ['high itself', queue, w('high', 10_000), 0, true],
  ];
  for (const [what, edf, newcomer, headroom, ok] of rows)
    assert.equal(admit(edf, newcomer, pace, headroom).ok, ok, what);
});

test('a newcomer leaves clear the places kept for returns, up to 5% of the work ahead of it', () => {
  // 50 ahead: finishes at 6 100 ms; its headroom of 2% of 51 slots is 102 ms; each kept place is one more slot.
  const ahead = many(50, 'normal', 5_000);
  const rows: [returnWork: number, deadlineAt: number, ok: boolean][] = [
    [0, 6_202, true],
    [0, 6_201, false],
    [2, 6_402, true], // two answers kept clear: 200 ms more
    [2, 6_401, false],
    [2.55, 6_457, true], // 5% of the 51 slots ahead: the most it keeps clear
    [1_000, 6_457, true], // a flood of places keeps no more than that
    [1_000, 6_456, false],
  ];
  for (const [returnWork, deadlineAt, ok] of rows)
    assert.equal(
      admit(ahead, { ...w('normal', deadlineAt), returnWork }, pace, 0.02).ok,
      ok,
      `${returnWork} kept, deadline ${deadlineAt}`,
    );
  // High and a client back at our Retry-After keep no headroom, and leave no place clear.
  assert.equal(admit(ahead, { ...w('high', 6_100), returnWork: 1_000 }, pace, 0).ok, true);
});
