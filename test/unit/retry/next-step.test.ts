import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { nextStep, type Step, type StepInput } from '../../../src/retry/next-step.ts';
import type { Outcome } from '../../../src/upstream/outcome.ts';

const DEADLINE_AT = 10_000;
const DELAY_MS = 100;

interface Row {
  name: string;
  outcome: Outcome;
  /** Clock time of the decision (the deadline is at 10 s; a retry waits 100 ms and needs 20 ms more). */
  at?: number;
  set?: Partial<Pick<StepInput, 'contentSent' | 'pushbacks' | 'cutAtLimit' | 'canContinue' | 'attempt'>>;
  budget?: boolean;
  want: Step;
  /** Whether the decision drew a backoff delay and took a retry from the budget. */
  drawn: boolean;
  taken: boolean;
}

const reset: Outcome = { kind: 'reset', afterFirstByte: true, detail: 'socket hang up' };
const busy: Outcome = { kind: 'overloaded', status: 503, retryAfterMs: undefined };
const retry = (cont = false): Step => ({ kind: 'retry', delayMs: DELAY_MS, continue: cont });
const stop = (why: Extract<Step, { kind: 'stop' }>['why'], continuable = false): Step => ({
  kind: 'stop',
  why,
  continuable,
});

const rows: Row[] = [
  { name: 'an answer is done', outcome: { kind: 'ok' }, want: { kind: 'answered' }, drawn: false, taken: false },
  { name: 'the client left', outcome: { kind: 'cancelled' }, want: { kind: 'cancelled' }, drawn: false, taken: false },
  {
    name: 'busy before output is pushback: no delay, no budget',
    outcome: busy,
    want: { kind: 'pushback' },
    drawn: false,
    taken: false,
  },
  {
    name: 'a 429 too',
    outcome: { kind: 'rate_limited', retryAfterMs: 1_000 },
    want: { kind: 'pushback' },
    drawn: false,
    taken: false,
  },
  {
    name: 'busy past the pushback allowance is a failure: retried',
    outcome: busy,
    set: { pushbacks: 6 },
    want: retry(),
    drawn: true,
    taken: true,
  },
  {
    name: 'busy after content reached the client is no pushback, and committed',
    outcome: busy,
    set: { contentSent: true },
    want: stop('committed'),
    drawn: true,
    taken: false,
  },
  {
    name: 'a stream cut after its last allowed token is complete',
    outcome: reset,
    set: { contentSent: true, cutAtLimit: true },
    want: { kind: 'end_at_limit' },
    drawn: false,
    taken: false,
  },
  {
    name: 'a cut that can be continued is retried as a continuation',
    outcome: reset,
    set: { contentSent: true, canContinue: true },
    want: retry(true),
    drawn: true,
    taken: true,
  },
  {
    name: 'an idle stall that can be continued counts as a first-token timeout',
    outcome: { kind: 'timeout', phase: 'idle', afterFirstByte: true },
    set: { contentSent: true, canContinue: true },
    want: retry(true),
    drawn: true,
    taken: true,
  },
  {
    name: 'a cut that cannot be continued is final',
    outcome: reset,
    set: { contentSent: true },
    want: stop('not_retryable'),
    drawn: true,
    taken: false,
  },
  {
    name: "a 4xx is the request's own fault",
    outcome: { kind: 'client_error', status: 400 },
    want: stop('not_retryable'),
    drawn: true,
    taken: false,
  },
  { name: 'a 5xx is retried', outcome: { kind: 'server_error', status: 500 }, want: retry(), drawn: true, taken: true },
  {
    name: 'out of attempts',
    outcome: { kind: 'server_error', status: 500 },
    set: { attempt: 3 },
    want: stop('attempts_exhausted'),
    drawn: true,
    taken: false,
  },
  {
    name: 'the wait and a minimal attempt would pass the deadline',
    outcome: { kind: 'server_error', status: 500 },
    at: DEADLINE_AT - 119,
    want: stop('deadline'),
    drawn: true,
    taken: false,
  },
  {
    name: 'just in time',
    outcome: { kind: 'server_error', status: 500 },
    at: DEADLINE_AT - 120,
    want: retry(),
    drawn: true,
    taken: true,
  },
  {
    name: 'out of budget (asked, nothing to take)',
    outcome: { kind: 'server_error', status: 500 },
    budget: false,
    want: stop('budget'),
    drawn: true,
    taken: true,
  },
  {
    name: 'a continuation stopped by the deadline says it could have continued',
    outcome: reset,
    at: DEADLINE_AT,
    set: { contentSent: true, canContinue: true },
    want: stop('deadline', true),
    drawn: true,
    taken: false,
  },
];

test('the decision after one try: table over outcomes, pushback, continuation, attempts, deadline and budget on a fake clock', () => {
  const clock = new FakeClock(0);
  for (const r of rows) {
    clock.set(r.at ?? 1_000);
    let drawn = false;
    let taken = false;
    const step = nextStep({
      outcome: r.outcome,
      contentSent: false,
      pushbacks: 0,
      maxPushbacks: 6,
      cutAtLimit: false,
      canContinue: false,
      attempt: 1,
      maxAttempts: 3,
      ...r.set,
      now: clock.now(),
      deadlineAt: DEADLINE_AT,
      minAttemptMs: 20,
      delayMs: () => {
        drawn = true;
        return DELAY_MS;
      },
      takeBudget: () => {
        taken = true;
        return r.budget ?? true;
      },
    });
    assert.deepEqual(step, r.want, r.name);
    assert.equal(drawn, r.drawn, `${r.name}: delay drawn`);
    assert.equal(taken, r.taken, `${r.name}: budget asked`);
  }
});
