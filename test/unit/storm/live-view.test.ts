import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  errorsByReason,
  fit,
  plainLines,
  redraw,
  sideStats,
  ttyFrame,
  type SideProgress,
} from '../../../src/storm/live-view.ts';
import { demoBurst, demoCurve, demoFleet, demoOutage, fleetCapacityRps } from '../../../src/storm/demo-fleet.ts';
import { summarize, type RequestRecord } from '../../../src/storm/summary.ts';

const ok = (latencyMs: number): RequestRecord => ({
  priority: 'normal',
  stream: true,
  latencyMs,
  ttftMs: latencyMs / 2,
  verdict: { ok: true },
});
const failed = (reason: string, silentTruncation = false): RequestRecord => ({
  priority: 'low',
  stream: true,
  latencyMs: 5,
  ttftMs: undefined,
  verdict: { ok: false, reason, silentTruncation },
});

function side(target: string, records: RequestRecord[], sent: number, upstreamRequests: number): SideProgress {
  return { sent, upstreamRequests, summary: summarize(target, records, 0, 0) };
}

const direct = side(
  'direct',
  [
    ok(100),
    ok(300),
    failed('http_503:server_overloaded'),
    failed('http_503:server_overloaded'),
    failed('silent_truncation', true),
  ],
  6,
  6,
);
const spillway = side('spillway', [ok(120), ok(200), ok(400), ok(900)], 6, 7);

test('errors are listed most frequent first, ties by name, the rest folded into "other"', () => {
  assert.equal(errorsByReason({}), 'none');
  assert.equal(errorsByReason({ b: 2, a: 2, c: 5 }), 'c 5, a 2, b 2');
  assert.equal(errorsByReason({ a: 1, b: 2, c: 3, d: 4 }, 2), 'd 4, c 3, other 3');
});

test('a side shows sent, answered, success %, p99 of successes, silent truncations and upstream requests per request', () => {
  assert.equal(
    sideStats(direct),
    'sent 6, answered 5, success 40.0%, p99 300 ms, silent truncations 1, upstream requests ×1.00',
  );
  assert.equal(
    sideStats(spillway),
    'sent 6, answered 4, success 100.0%, p99 900 ms, silent truncations 0, upstream requests ×1.17',
  );
});

test('before any answer a side shows dashes, not NaN', () => {
  const empty = side('direct', [], 0, 0);
  assert.equal(sideStats(empty), 'sent 0, answered 0, success —, p99 —, silent truncations 0, upstream requests —');
});

test('plain output is one line per side, names aligned, with the elapsed time and the errors', () => {
  assert.deepEqual(plainLines(12.4, [direct, spillway]), [
    '[ 12s] direct    sent 6, answered 5, success 40.0%, p99 300 ms, silent truncations 1, upstream requests ×1.00; errors: http_503:server_overloaded 2, silent_truncation 1',
    '[ 12s] spillway  sent 6, answered 4, success 100.0%, p99 900 ms, silent truncations 0, upstream requests ×1.17; errors: none',
  ]);
});

test("the terminal frame puts each side's errors on their own line and cuts every line to the width", () => {
  const frame = ttyFrame('12 s / 60 s', [direct, spillway], 60);
  assert.equal(frame.length, 5);
  assert.equal(frame[0], '12 s / 60 s');
  assert.match(frame[1] ?? '', /^ {2}direct {4}sent 6, answered 5/);
  assert.match(frame[2] ?? '', /^ {12}errors: http_503/);
  assert.equal(frame[4], '            errors: none');
  for (const line of frame) assert.ok(line.length < 60, line);
  assert.equal(fit('abcdef', 4), 'ab…');
  assert.equal(fit('abc', 4), 'abc');
});

test('a redraw moves the cursor up over the previous frame and clears it; the first draw does not', () => {
  assert.equal(redraw(0, ['a', 'b']), 'a\nb\n');
  assert.equal(redraw(2, ['c', 'd', 'e']), '\x1b[2F\x1b[Jc\nd\ne\n');
});

test('the demo fleet: three upstreams, capacity from slots and pacing, one outage and one burst inside the run', () => {
  const fleet = demoFleet(1, 60);
  assert.deepEqual(
    fleet.upstreams.map((u) => u.name),
    ['a', 'b', 'c'],
  );
  // 6 / (0.25 + 5 others in flight × 0.01 + 16 × 0.01) + 6 / (0.2 + 16 × 0.01) + 4 / (0.3 + 16 × 0.012)
  assert.ok(Math.abs(fleetCapacityRps(fleet, 16) - (6 / 0.46 + 6 / 0.36 + 4 / 0.492)) < 1e-9);
  assert.deepEqual(demoOutage(60), { startMs: 24_000, endMs: 32_000 });
  assert.deepEqual(demoOutage(3), { startMs: 1200, endMs: 1800 });
  assert.deepEqual(demoBurst(60), { startS: 39, endS: 44 });
  assert.deepEqual(demoCurve(40, 1.5, 60), [
    [0, 60],
    [39, 60],
    [39, 120],
    [44, 120],
    [44, 60],
  ]);
});
