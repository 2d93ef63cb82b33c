import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptTimer } from '../../../src/upstream/attempt-timer.ts';
import { FakeClock } from '../../../src/clock.ts';

const timeouts = { firstTokenMs: 100, idleMs: 50, totalMs: 1000 };

function timer(clock: FakeClock, deadlineAt = Infinity) {
  const t = new AttemptTimer(() => clock.now(), timeouts, deadlineAt, () => {});
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
