import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../../src/retry/backoff.ts';
import { RetryBudget } from '../../../src/retry/retry-budget.ts';
import { RetryBudgets } from '../../../src/retry/retry-budgets.ts';
import { FakeClock } from '../../../src/clock.ts';
import { decideRetry, isRetryable } from '../../../src/retry/retry-decision.ts';
import type { Outcome } from '../../../src/upstream/outcome.ts';

test('full-jitter backoff: table over retries, the cap, and Retry-After as a floor', () => {
  const s = { baseMs: 50, capMs: 20_000 };
  const cases: { retry: number; random: number; retryAfter?: number; want: number }[] = [
    { retry: 0, random: 0.5, want: 25 },
    { retry: 1, random: 0.5, want: 50 },
    { retry: 3, random: 0.99, want: 396 },
    { retry: 20, random: 0.5, want: 10_000 },
    { retry: 0, random: 0, want: 0 },
    { retry: 0, random: 0.5, retryAfter: 2000, want: 2000 },
    { retry: 9, random: 0.9, retryAfter: 100, want: 18_000 },
  ];
  for (const c of cases)
    assert.equal(
      backoffDelayMs(c.retry, s, () => c.random, c.retryAfter),
      c.want,
      JSON.stringify(c),
    );
});

test('retry budget: retries are bounded by ratio × requests plus the floor, over a sliding window', () => {
  const b = new RetryBudget({ ratio: 0.2, minPerSecond: 0.5, windowMs: 10_000 }, 0);
  // floor: 0.5/s × 10 s = 5 retries with no traffic at all
  let granted = 0;
  for (let i = 0; i < 10; i++) if (b.tryRetry(0)) granted++;
  assert.equal(granted, 5);
  for (let i = 0; i < 100; i++) b.recordRequest(500);
  granted = 0;
  for (let i = 0; i < 100; i++) if (b.tryRetry(600)) granted++;
  assert.equal(granted, 20, '20% of 100 requests');
  assert.equal(b.tryRetry(9_000), false, 'still inside the window');
  assert.equal(b.tryRetry(11_000), true, 'the early buckets have expired');
  for (let i = 0; i < 1000; i++) b.tryRetry(30_000);
  assert.equal(b.available(30_000), 0);
});

test('what is retryable: table', () => {
  const cases: [Outcome, boolean][] = [
    [{ kind: 'ok' }, false],
    [{ kind: 'overloaded', status: 503, retryAfterMs: undefined }, true],
    [{ kind: 'rate_limited', retryAfterMs: 1000 }, true],
    [{ kind: 'server_error', status: 500 }, true],
    [{ kind: 'client_error', status: 400 }, false],
    [{ kind: 'auth_failed', status: 401 }, true],
    [{ kind: 'reset', afterFirstByte: false, detail: '' }, true],
    [{ kind: 'reset', afterFirstByte: true, detail: '' }, false],
    [{ kind: 'timeout', phase: 'connect', afterFirstByte: false }, true],
    [{ kind: 'timeout', phase: 'first_token', afterFirstByte: false }, true],
    [{ kind: 'timeout', phase: 'idle', afterFirstByte: true }, false],
    [{ kind: 'timeout', phase: 'idle', afterFirstByte: false }, true],
    [{ kind: 'timeout', phase: 'deadline', afterFirstByte: false }, false],
    [{ kind: 'cancelled' }, false],
  ];
  for (const [o, want] of cases) assert.equal(isRetryable(o), want, JSON.stringify(o));
});

test('retry decision: the first reason to stop wins, and only a real retry spends the budget', () => {
  const base = {
    outcome: { kind: 'overloaded', status: 503, retryAfterMs: undefined } as Outcome,
    committed: false,
    attempt: 1,
    maxAttempts: 3,
    delayMs: 100,
    now: 0,
    deadlineAt: 10_000,
    minAttemptMs: 50,
  };
  let spent = 0;
  const take = (ok: boolean) => () => {
    spent++;
    return ok;
  };
  const cases: { over: Partial<typeof base>; budget: boolean; want: string }[] = [
    { over: {}, budget: true, want: 'retry' },
    { over: { outcome: { kind: 'client_error', status: 400 } }, budget: true, want: 'not_retryable' },
    { over: { committed: true }, budget: true, want: 'committed' },
    { over: { attempt: 3 }, budget: true, want: 'attempts_exhausted' },
    { over: { deadlineAt: 120 }, budget: true, want: 'deadline' },
    { over: {}, budget: false, want: 'budget' },
  ];
  for (const c of cases) {
    spent = 0;
    const v = decideRetry({ ...base, ...c.over, takeBudget: take(c.budget) });
    assert.equal(v.retry ? 'retry' : v.why, c.want, JSON.stringify(c.over));
    assert.equal(
      spent,
      c.want === 'retry' || c.want === 'budget' ? 1 : 0,
      `budget touched only when deciding: ${c.want}`,
    );
  }
});

test('asking whether a retry fits the budgets takes nothing; taking one does', () => {
  const b = new RetryBudgets(
    {
      maxAttempts: 3,
      backoffBaseMs: 50,
      backoffCapMs: 20_000,
      budgetRatio: 0,
      budgetMinPerSecond: 0.1,
      budgetWindowMs: 10_000,
      cooldownDefaultMs: 1000,
    },
    new FakeClock(),
  );
  for (let i = 0; i < 5; i++) assert.equal(b.canRetry('a'), true);
  assert.equal(b.tryRetry('a'), true, 'the one retry of the floor is still there');
  assert.equal(b.canRetry('a'), false);
  assert.equal(b.canRetry('b'), false, 'the global budget is spent too');
  assert.equal(b.tryRetry('b'), false);
});

test('a request still open keeps its deposit once the window has forgotten it: its late retry still fits', () => {
  const clock = new FakeClock();
  const b = new RetryBudgets(
    {
      maxAttempts: 5,
      backoffBaseMs: 50,
      backoffCapMs: 20_000,
      budgetRatio: 0.2,
      budgetMinPerSecond: 0,
      budgetWindowMs: 10_000,
      cooldownDefaultMs: 1000,
    },
    clock,
  );
  for (let i = 0; i < 10; i++) b.recordFirstAttempt('a'); // ten requests: two retries' worth
  clock.advance(15_000); // arrivals stopped; the window has forgotten them, the requests are still open (stalled)
  assert.equal(b.tryRetry('a'), true, 'the open requests still back a retry');
  assert.equal(b.tryRetry('a'), true);
  assert.equal(b.tryRetry('a'), false, 'no more than their ratio');
  for (let i = 0; i < 10; i++) b.requestEnded('a');
  clock.advance(15_000);
  assert.equal(b.canRetry('a'), false, 'once they ended, nothing is left to back a retry');
});

test("a retry is charged to its request's cohort: retries due after arrivals slowed are weighed against their own requests' deposits", () => {
  const clock = new FakeClock();
  const b = new RetryBudgets(
    {
      maxAttempts: 5,
      backoffBaseMs: 50,
      backoffCapMs: 20_000,
      budgetRatio: 0.5,
      budgetMinPerSecond: 0,
      budgetWindowMs: 10_000,
      cooldownDefaultMs: 1000,
    },
    clock,
  );
  // A burst of ten at 0 s: five retries' worth. Their stalls are found at 5 s, and each takes its retry.
  const burstAt = clock.now();
  for (let i = 0; i < 10; i++) assert.equal(burstAt, b.recordFirstAttempt('a'));
  clock.advance(5_000);
  for (let i = 0; i < 5; i++) assert.equal(b.tryRetry('a', burstAt), true, `burst retry ${i + 1}`);
  assert.equal(b.tryRetry('a', burstAt), false, 'the burst spent its own deposits');
  for (let i = 0; i < 10; i++) b.requestEnded('a');
  // The last ten arrive at 9 s; their stalls are found at 10.5 s, when the burst has left the window: its deposits
  // AND the retries charged to them. (Charged when they were made, at 5 s, those five would still count and leave
  // these ten requests no retry at all.)
  clock.advance(4_000);
  const lateAt = b.recordFirstAttempt('a');
  for (let i = 0; i < 9; i++) b.recordFirstAttempt('a');
  clock.advance(1_500);
  for (let i = 0; i < 5; i++) assert.equal(b.tryRetry('a', lateAt), true, `late retry ${i + 1}`);
  assert.equal(b.tryRetry('a', lateAt), false, 'still no more than their ratio');
});
