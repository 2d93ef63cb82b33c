import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tooSlow, PACE } from '../../../src/upstream/stream-pace.ts';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { TimeoutLearner } from '../../../src/upstream/timeout-learner.ts';
import { FakeClock } from '../../../src/clock.ts';

// Each row: the upstream's typical gap (ms), events after the first, ms since the first token, tokens expected,
// deadline (ms from the first token) → cut?
const rows: [string, number, number, number, number | undefined, number, boolean][] = [
  ['a crawl (1 token/s) that cannot end before the deadline is cut', 10, 4, 4000, 48, 30_000, true],
  ['a crawl that would end in time, but 11 s later than elsewhere: cut', 10, 4, 4000, 16, 30_000, true],
  ['a crawl with one token left: left to end', 10, 4, 4000, 6, 30_000, false],
  ['a crawl with one token left past the deadline: cut', 10, 4, 4000, 6, 4500, true],
  ['a normal pace is never cut, however close the deadline', 10, 40, 400, 4000, 500, false],
  ['slower than usual but under the factor: left alone', 10, 10, 1500, 400, 2000, false],
  ['too few events to judge a pace', 10, 3, 3000, 48, 10_000, false],
  ['nothing known of the expected length: never cut', 10, 4, 4000, undefined, 5000, false],
  ['20× a very fast upstream but under the floor: left alone', 1, 10, 1900, 1000, 2000, false],
];
for (const [name, typicalGapMs, events, elapsed, expectedEvents, deadline, cut] of rows) {
  test(`pace cut: ${name}`, () => {
    assert.equal(
      tooSlow({ typicalGapMs, expectedEvents }, { events, firstAt: 0, lastAt: elapsed, deadlineAt: deadline }),
      cut,
    );
  });
}

test('the factor and floor both guard: a gap must beat factor × typical and the floor', () => {
  assert.equal(
    tooSlow(
      { typicalGapMs: 1, expectedEvents: 1000 },
      { events: 10, firstAt: 0, lastAt: (PACE.floorMs - 1) * 10, deadlineAt: 100 },
    ),
    false,
  );
  assert.equal(
    tooSlow(
      { typicalGapMs: 1, expectedEvents: 1000 },
      { events: 10, firstAt: 0, lastAt: PACE.floorMs * 10, deadlineAt: 100 },
    ),
    true,
  );
});

test('the timer fires the pace phase on the data event that shows the crawl, once', () => {
  const c = new FakeClock();
  const fired: string[] = [];
  const t = new AttemptTimer(
    () => c.now(),
    {
      firstTokenMs: 100_000,
      idleMs: 100_000,
      totalMs: 1_000_000,
      pace: () => ({ typicalGapMs: 10, expectedEvents: 48 }),
    },
    30_000,
    (p) => fired.push(p),
  );
  t.stop();
  t.firstToken();
  for (let i = 0; i < 6; i++) {
    c.advance(1000);
    t.dataEvents(1);
  }
  assert.deepEqual(fired, ['pace']);
  assert.equal(t.fired, 'pace');
});

test('without a pace watch the timer only measures: the mean gap is what the learner records', () => {
  const c = new FakeClock();
  const t = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 100_000, idleMs: 100_000, totalMs: 1_000_000 },
    30_000,
    () => assert.fail('must not fire'),
  );
  t.stop();
  t.firstToken();
  for (let i = 0; i < 5; i++) {
    c.advance(1000);
    t.dataEvents(2);
  }
  assert.equal(t.meanGapMs, 500);
  assert.equal(t.fired, undefined);
});

test('the learner takes the median gap and time to first token (a tenth of slow ones does not move them) and the 90th percentile length', () => {
  const l = new TimeoutLearner();
  assert.equal(l.pace('u', 'm'), undefined);
  for (let i = 0; i < 30; i++)
    l.observe('u', 'm', true, {
      pace: { meanGapMs: i % 10 === 0 ? 1000 : 10, events: 20 + i },
      firstTokenMs: i % 10 === 0 ? 2000 : 300,
    });
  const p = l.pace('u', 'm');
  assert.equal(p?.typicalGapMs, 10);
  assert.equal(p?.typicalFirstTokenMs, 300);
  assert.equal(l.learned('u', 'm', true).firstTokenMs, 2000, 'the p99 the timeouts use is the slow tenth');
  assert.ok(p !== undefined && p.usualEvents >= 45 && p.usualEvents <= 49);
});

// Each row: ms since the first token after 4 events, tokens expected, deadline (ms from the first token), the time
// a continuation needs to its first token → cut? The upstream's typical gap is 12 ms (the demo's vLLM upstream).
const deadlineRows: [string, number, number, number, number | undefined, boolean][] = [
  ['8× slower, would miss the deadline, fits continued elsewhere: cut', 400, 16, 1_200, 300, true],
  ['8× slower but ends in time: left to end', 400, 16, 2_000, 300, false],
  ['8× slower, would miss it, and would miss it continued too: left alone', 400, 16, 750, 300, false],
  ['no time to first token known yet: left alone', 400, 16, 1_200, undefined, false],
  ['under 3× the typical gap: a wobble, not a crawl', 140, 60, 1_000, 100, false],
];
for (const [name, elapsed, expectedEvents, deadline, resumeMs, cut] of deadlineRows) {
  test(`pace cut at the deadline: ${name}`, () => {
    assert.equal(
      tooSlow(
        { typicalGapMs: 12, expectedEvents, resumeMs },
        { events: 4, firstAt: 0, lastAt: elapsed, deadlineAt: deadline },
      ),
      cut,
    );
  });
}

test('a crawl that would miss its deadline is judged after two data events, while a continuation still fits', () => {
  const watch = { typicalGapMs: 12, expectedEvents: 16, resumeMs: 300 };
  const after = (events: number, lastAt: number, deadlineAt: number) =>
    tooSlow(watch, { events, firstAt: 0, lastAt, deadlineAt });
  // Two 100 ms gaps, 0.9 s to the deadline: 13 tokens at that pace need 1.3 s; continued, 0.3 s + 13 × 12 ms fit.
  assert.equal(after(2, 200, 900), true);
  assert.equal(after(1, 100, 900), false, 'one gap is no pace');
  // Waiting for the fourth event left 0.5 s: the continuation (0.3 s + 11 × 12 ms after 0.4 s) no longer fits.
  assert.equal(after(4, 400, 800), false);
  // Far from the deadline, a crawl short of 20× is left to end; 20× and more is judged after four events only.
  assert.equal(after(2, 200, 30_000), false);
  assert.equal(
    tooSlow({ ...watch, expectedEvents: 48 }, { events: 2, firstAt: 0, lastAt: 2_000, deadlineAt: 60_000 }),
    false,
  );
  assert.equal(
    tooSlow({ ...watch, expectedEvents: 48 }, { events: 4, firstAt: 0, lastAt: 4_000, deadlineAt: 60_000 }),
    true,
  );
});
