import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideItem, isPushback, type RunResult } from '../../../src/jobs/run/item-policy.ts';
import { inRunWindow, msUntilOpen, parseRunWindow } from '../../../src/jobs/run/run-window.ts';
import { BackgroundLimit, spareRoom } from '../../../src/jobs/run/background-limit.ts';
import { SlidingMax } from '../../../src/jobs/run/sliding-max.ts';
import { prefixKey } from '../../../src/jobs/run/prefix-key.ts';
import { signWebhook, verifyWebhook } from '../../../src/jobs/run/webhook-signature.ts';
import { parseBatchLine } from '../../../src/jobs/api/batch-line.ts';
import { SpillwayError } from '../../../src/errors.ts';

const policy = { maxAttempts: 3, backoff: { baseMs: 1000, capMs: 60_000 } };
const half = () => 0.5;
const r = (status: number, code?: string, retryAfterS?: number): RunResult => ({ status, code, retryAfterS });

test('item verdicts: done on 2xx, failed at once on a client error, retried with backoff on upstream failures, dead after max_attempts', () => {
  const rows: [RunResult, number, ReturnType<typeof decideItem>][] = [
    [r(200), 1, { kind: 'done' }],
    [r(400, 'upstream_rejected'), 1, { kind: 'failed' }],
    [r(404, 'model_not_found'), 1, { kind: 'failed' }],
    [r(502, 'upstream_error'), 1, { kind: 'retry', atMs: 10_000 + 500, counted: true }],
    [r(504, 'upstream_timeout'), 2, { kind: 'retry', atMs: 10_000 + 1000, counted: true }],
    [r(502, 'upstream_error'), 3, { kind: 'dead' }],
    [r(408, 'request_timeout'), 1, { kind: 'retry', atMs: 10_500, counted: true }],
  ];
  for (const [res, attempts, want] of rows)
    assert.deepEqual(decideItem(res, attempts, policy, 10_000, half), want, JSON.stringify(res));
});

test('pushback (no spare room) is retried without counting the attempt, at least after Retry-After, even past max_attempts', () => {
  for (const res of [
    r(429, 'rate_limited', 7),
    r(503, 'queue_full', 7),
    r(503, 'no_capacity', 7),
    r(429, 'deadline_unmeetable', 7),
    r(0, undefined, 7),
  ]) {
    assert.equal(isPushback(res), true);
    assert.deepEqual(decideItem(res, 3, policy, 0, half), { kind: 'retry', atMs: 7000, counted: false });
  }
  assert.equal(isPushback(r(503, 'overloaded')), false, "an upstream's own 503 is an upstream failure");
});

test('run windows: inside, outside, wrapping past midnight, and the wait until the next opens', () => {
  const day = Date.UTC(2026, 0, 1);
  const at = (h: number, m = 0) => day + (h * 60 + m) * 60_000;
  const night = [parseRunWindow('22:30-06:00')];
  assert.equal(inRunWindow(at(23), night), true);
  assert.equal(inRunWindow(at(5, 59), night), true);
  assert.equal(inRunWindow(at(6), night), false);
  assert.equal(inRunWindow(at(12), night), false);
  assert.equal(msUntilOpen(at(12), night), 10.5 * 3_600_000);
  assert.equal(msUntilOpen(at(23), night), 0);
  assert.equal(inRunWindow(at(12), []), true, 'no windows: always');
  const two = [parseRunWindow('01:00-02:00'), parseRunWindow('13:00-14:00')];
  assert.equal(msUntilOpen(at(12, 30), two), 30 * 60_000);
  assert.equal(msUntilOpen(at(14, 0), two), 11 * 3_600_000);
});

test('spare room: nothing while interactive requests wait or the event loop runs late; otherwise up to the spare share minus interactive load, within the AIMD limit', () => {
  const base = {
    running: 0,
    limit: 100,
    interactiveWaiting: 0,
    inFlight: 0,
    interactivePeak: 0,
    capacity: 100,
    sparePercent: 70,
    loopLagMs: 0,
    maxLoopLagMs: 20,
  };
  assert.equal(spareRoom(base), 70);
  assert.equal(spareRoom({ ...base, interactiveWaiting: 1 }), 0);
  assert.equal(spareRoom({ ...base, loopLagMs: 25 }), 0, "the gateway's event loop is late: its CPU is taken");
  assert.equal(spareRoom({ ...base, loopLagMs: 15 }), 70);
  assert.equal(spareRoom({ ...base, inFlight: 50 }), 20, '50 interactive in flight leave 20 of the 70');
  assert.equal(
    spareRoom({ ...base, inFlight: 50, running: 10 }),
    20,
    'our own 10 are not interactive load: 40 interactive leave 30, 10 of them taken',
  );
  assert.equal(
    spareRoom({ ...base, inFlight: 0, running: 10 }),
    60,
    'items not yet at an upstream still count as ours',
  );
  assert.equal(spareRoom({ ...base, limit: 4 }), 4);
  assert.equal(spareRoom({ ...base, inFlight: 95 }), 0);
  assert.equal(
    spareRoom({ ...base, inFlight: 20, interactivePeak: 50 }),
    20,
    'room is left for the recent interactive peak, not only the current load',
  );
  assert.equal(
    spareRoom({ ...base, inFlight: 60, interactivePeak: 50 }),
    10,
    'the current load when it is above the peak',
  );
});

test('background limit: halves on pushback (once per interval), grows back on success, stays within 1..max', () => {
  const l = new BackgroundLimit(32, 1000);
  assert.equal(l.limit, 4);
  for (let i = 0; i < 100; i++) l.success();
  assert.equal(l.limit, 32);
  l.pushback(0);
  assert.equal(l.limit, 16);
  l.pushback(500);
  assert.equal(l.limit, 16, 'the same overload');
  l.pushback(1500);
  assert.equal(l.limit, 8);
  for (let t = 3000; t < 20_000; t += 1000) l.pushback(t);
  assert.equal(l.limit, 1);
});

test('prefix key: same leading prompt → same key; a different prefix or model → another key', () => {
  const sys = { role: 'system', content: 'A long shared system prompt. '.repeat(100) };
  const a = prefixKey({ model: 'm', messages: [sys, { role: 'user', content: 'one' }] }, 1024);
  const b = prefixKey({ model: 'm', messages: [sys, { role: 'user', content: 'two' }] }, 1024);
  const c = prefixKey(
    {
      model: 'm',
      messages: [
        { role: 'system', content: 'other' },
        { role: 'user', content: 'one' },
      ],
    },
    1024,
  );
  const d = prefixKey({ model: 'n', messages: [sys, { role: 'user', content: 'one' }] }, 1024);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(a, d);
  assert.equal(
    prefixKey({ model: 'm', prompt: 'x'.repeat(50) + 'a' }, 50),
    prefixKey({ model: 'm', prompt: 'x'.repeat(50) + 'b' }, 50),
  );
});

test('webhook signatures verify with the secret and fail when tampered, malformed or too old', () => {
  const body = '{"id":"job_1","status":"completed"}';
  const h = signWebhook('s3cret', body, 1_700_000_000);
  assert.match(h, /^t=1700000000,v1=[0-9a-f]{64}$/);
  assert.deepEqual(verifyWebhook('s3cret', h, body, 1_700_000_010), { ok: true });
  assert.deepEqual(verifyWebhook('s3cret', h, body.replace('completed', 'failed'), 1_700_000_010), {
    ok: false,
    why: 'mismatch',
  });
  assert.deepEqual(verifyWebhook('s3cret', h.replace('t=1700000000', 't=1700000001'), body, 1_700_000_010), {
    ok: false,
    why: 'mismatch',
  });
  assert.deepEqual(verifyWebhook('s3cret', h, body, 1_700_000_301), { ok: false, why: 'too_old' });
  assert.deepEqual(verifyWebhook('s3cret', 'v1=abc', body, 1_700_000_000), { ok: false, why: 'malformed' });
  assert.deepEqual(verifyWebhook('s3cret', undefined, body, 1_700_000_000), { ok: false, why: 'malformed' });
});

test('batch lines: a valid line parses; each kind of bad line is refused naming its line number', () => {
  const ok = parseBatchLine(
    '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}',
    1,
    '/v1/chat/completions',
  );
  assert.equal(ok.customId, 'a');
  const bad: [string, string, RegExp][] = [
    ['{nope', 'invalid_batch_line', /Line 7 .*not valid JSON/],
    ['[]', 'invalid_batch_line', /Line 7 .*not a JSON object/],
    ['{"url":"/v1/chat/completions","body":{"model":"m"}}', 'invalid_batch_line', /custom_id/],
    [
      '{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{"model":"m"}}',
      'invalid_batch_line',
      /only POST/,
    ],
    ['{"custom_id":"a","url":"/v1/responses","body":{"model":"m"}}', 'unsupported_endpoint', /\/v1\/responses/],
    [
      '{"custom_id":"a","url":"/v1/embeddings","body":{"model":"m"}}',
      'invalid_batch_line',
      /batch's endpoint is \/v1\/chat\/completions/,
    ],
    ['{"custom_id":"a","url":"/v1/chat/completions","body":{"messages":[]}}', 'invalid_batch_line', /without a model/],
    [
      '{"custom_id":"a","url":"/v1/chat/completions","body":{"model":"m","stream":true}}',
      'invalid_batch_line',
      /stream/,
    ],
  ];
  for (const [line, code, msg] of bad) {
    assert.throws(
      () => parseBatchLine(line, 7, '/v1/chat/completions'),
      (e: unknown) => e instanceof SpillwayError && e.code === code && msg.test(e.message) && e.param === 'line 7',
      line,
    );
  }
});

test('sliding max: the largest sample within the window, older ones forgotten', () => {
  const m = new SlidingMax(1000);
  assert.equal(m.max(0), 0);
  m.add(0, 5);
  m.add(100, 3);
  m.add(200, 4);
  assert.equal(m.max(200), 5);
  assert.equal(m.max(1000), 4, 'the 5 at t=0 left the window');
  m.add(1100, 1);
  assert.equal(m.max(1150), 4);
  assert.equal(m.max(1201), 1);
  assert.equal(m.max(5000), 0);
});
