import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceByLength } from '../../../src/queue/service-by-length.ts';

/** Answers whose hold time is `base + perToken × limit`, for limits cycling through `limits`. */
function fed(n: number, limits: number[], hold: (limit: number) => number, now = 1_000): ServiceByLength {
  const s = new ServiceByLength(20_000, 0);
  for (let i = 0; i < n; i++) {
    const limit = limits[i % limits.length] as number;
    s.add(limit, hold(limit), now);
  }
  return s;
}

test('hold times that follow the length limit give each request its share of the mean', () => {
  // 200 ms + 10 ms a token, limits 8..24 (mean 16: 360 ms).
  const s = fed(39, [8, 16, 24], (l) => 200 + 10 * l);
  const rows: [limit: number | undefined, factor: number][] = [
    [16, 1],
    [8, 280 / 360],
    [24, 440 / 360],
    [undefined, 1], // no limit: the mean
  ];
  for (const [limit, factor] of rows) assert.ok(Math.abs(s.factor(limit, 1_000) - factor) < 1e-9, String(limit));
});

test('limits that say nothing of the length leave every request at the mean', () => {
  const rows: [name: string, s: ServiceByLength][] = [
    ['one limit for everyone', fed(40, [4096], () => 500)],
    ['hold times that do not follow the limit', fed(40, [100, 4096], () => 500)],
    ['longer limits, shorter answers', fed(40, [100, 4096], (l) => (l > 1000 ? 400 : 600))],
    ['too few answers yet', fed(19, [8, 24], (l) => 200 + 10 * l)],
  ];
  for (const [name, s] of rows) assert.equal(s.factor(8, 1_000), 1, name);
});

test('a limit far outside what was seen is bounded, and old answers leave the window', () => {
  const s = fed(40, [8, 24], (l) => 10 * l);
  assert.equal(s.factor(10_000, 1_000), 4);
  assert.equal(s.factor(1, 1_000), 0.25);
  assert.equal(s.factor(8, 30_000), 1, 'after the 20 s window, nothing is known');
});

test('a limit no integer can be (1e308, 2.5) is neither learned nor scaled: every factor stays a number', () => {
  const s = fed(39, [8, 16, 24], (l) => 200 + 10 * l);
  s.add(1e308, 500, 1_000);
  s.add(2.5, 500, 1_000);
  assert.ok(Math.abs(s.factor(24, 1_000) - 440 / 360) < 1e-9, 'the line is as before');
  assert.equal(s.factor(1e308, 1_000), 1);
  assert.equal(s.factor(Number.POSITIVE_INFINITY, 1_000), 1);
});
