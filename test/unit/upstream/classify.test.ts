import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, classifyStatus, parseRetryAfter } from '../../../src/upstream/classify.ts';

test('classifyStatus: table', () => {
  const cases: [number, string][] = [
    [200, 'ok'],
    [429, 'rate_limited'],
    [503, 'overloaded'],
    [529, 'overloaded'],
    [500, 'server_error'],
    [502, 'server_error'],
    [400, 'client_error'],
    [401, 'auth_failed'],
    [403, 'auth_failed'],
    [404, 'client_error'],
  ];
  for (const [status, kind] of cases) assert.equal(classifyStatus(status, undefined).kind, kind, String(status));
  assert.deepEqual(classifyStatus(429, 2000), { kind: 'rate_limited', retryAfterMs: 2000 });
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('0.5', now), 500);
  assert.equal(parseRetryAfter(['7'], now), 7000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:10 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('classifyError: the client leaving beats everything; our timers beat the error text', () => {
  const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  assert.equal(
    classifyError(reset, { afterFirstByte: true, timeoutPhase: 'idle', clientGone: true }).kind,
    'cancelled',
  );
  assert.deepEqual(classifyError(reset, { afterFirstByte: false, timeoutPhase: 'first_token', clientGone: false }), {
    kind: 'timeout',
    phase: 'first_token',
    afterFirstByte: false,
  });
  assert.deepEqual(classifyError(reset, { afterFirstByte: true, timeoutPhase: undefined, clientGone: false }), {
    kind: 'reset',
    afterFirstByte: true,
    detail: 'UND_ERR_SOCKET',
  });
  const ct = Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
  assert.deepEqual(classifyError(ct, { afterFirstByte: false, timeoutPhase: undefined, clientGone: false }), {
    kind: 'timeout',
    phase: 'connect',
    afterFirstByte: false,
  });
  const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  assert.equal(
    classifyError(refused, { afterFirstByte: false, timeoutPhase: undefined, clientGone: false }).kind,
    'reset',
  );
});

test('a first-token timeout after keep-alives only is a queueing upstream: overloaded (pushback), not a stall', () => {
  const aborted = Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' });
  assert.deepEqual(
    classifyError(aborted, {
      afterFirstByte: false,
      timeoutPhase: 'first_token',
      clientGone: false,
      queuedUpstream: true,
    }),
    { kind: 'overloaded', status: 200, retryAfterMs: undefined, queuedUpstream: true },
  );
  assert.deepEqual(
    classifyError(aborted, {
      afterFirstByte: false,
      timeoutPhase: 'first_token',
      clientGone: false,
      queuedUpstream: false,
    }),
    { kind: 'timeout', phase: 'first_token', afterFirstByte: false },
  );
  // Only the first-token timer says "queued": the deadline or total ending a queued attempt stays a timeout.
  assert.equal(
    classifyError(aborted, { afterFirstByte: false, timeoutPhase: 'deadline', clientGone: false, queuedUpstream: true })
      .kind,
    'timeout',
  );
  assert.equal(
    classifyError(aborted, {
      afterFirstByte: false,
      timeoutPhase: 'first_token',
      clientGone: true,
      queuedUpstream: true,
    }).kind,
    'cancelled',
  );
});
