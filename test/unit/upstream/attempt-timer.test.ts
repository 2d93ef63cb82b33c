import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { FakeClock } from '../../../src/clock.ts';

const timeouts = { firstTokenMs: 100, idleMs: 50, totalMs: 1000 };

function timer(clock: FakeClock, deadlineAt = Infinity) {
  const t = new AttemptTimer(
    () => clock.now(),
    timeouts,
    deadlineAt,
    () => {},
  );
  t.stop(); // only the pure `due` logic is exercised here; no real timer runs
  return t;
}

test('keep-alive activity never satisfies the first-token timeout', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(60);
  t.activity();
  c.advance(60);
  assert.equal(t.due(c.now()), 'first_token');
});

test('after the first token, silence longer than idle times out; activity keeps it alive', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(10);
  t.firstToken();
  c.advance(40);
  assert.equal(t.due(c.now()), undefined);
  t.activity();
  c.advance(49);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
});

test('total and the request deadline bound the attempt; the nearer one names the phase', () => {
  const c = new FakeClock();
  const t = timer(c);
  t.firstToken();
  for (let i = 0; i < 30; i++) {
    c.advance(40);
    t.activity();
  }
  assert.equal(t.due(c.now()), 'total');
  const c2 = new FakeClock();
  const t2 = timer(c2, 80);
  c2.advance(80);
  assert.equal(t2.due(c2.now()), 'deadline');
});

test('the real timer fires once with the phase that is due', async () => {
  const phase = await new Promise<string>((resolve) => {
    new AttemptTimer(() => performance.now(), { firstTokenMs: 5, idleMs: 1000, totalMs: 1000 }, Infinity, resolve);
  });
  assert.equal(phase, 'first_token');
});

test('keep-alives before the first token are counted (a queueing upstream); after it they are nothing', () => {
  const c = new FakeClock();
  const t = timer(c);
  t.keepAlive();
  t.keepAlive();
  assert.equal(t.keepAlives, 2);
  assert.equal(t.queuedUpstream, true);
  c.advance(100);
  assert.equal(t.due(c.now()), 'first_token', 'keep-alives never reset the first-token timer');
  const t2 = timer(c);
  assert.equal(t2.queuedUpstream, false, 'silence is a stall, not a queue');
  t2.firstToken();
  t2.keepAlive();
  assert.equal(t2.keepAlives, 0);
  assert.equal(t2.queuedUpstream, false);
});

test('the longest gap between chunks after the first token is measured (what the idle timeout learns)', () => {
  const c = new FakeClock();
  const t = timer(c);
  c.advance(30);
  t.activity(); // before the first token: not a gap
  t.firstToken();
  for (const gap of [5, 20, 7]) {
    c.advance(gap);
    t.activity();
  }
  assert.equal(t.maxGapMs, 20);
});

test('with a split floor, a silence is cut at half of what is left before the deadline, never under the floor', () => {
  const c = new FakeClock();
  const t = new AttemptTimer(
    () => c.now(),
    { firstTokenMs: 100, idleMs: 10_000, totalMs: 100_000, idleSplitFloorMs: 500 },
    4_000,
    () => {},
  );
  t.stop();
  t.firstToken(); // at 0: 4000 left, so a silence is cut after 2000 (not the 10 s idle)
  c.advance(1_999);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
  t.activity(); // at 2000: 2000 left, half is 1000
  c.advance(1_000);
  assert.equal(t.due(c.now()), 'idle');
  t.activity(); // at 3000: 1000 left, half is 500 = the floor
  c.advance(499);
  assert.equal(t.due(c.now()), undefined);
  c.advance(1);
  assert.equal(t.due(c.now()), 'idle');
});
