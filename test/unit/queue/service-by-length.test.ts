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

/** Answers whose hold follows both their limit and their prompt, the two drawn apart (every pair of the lists). */
function fedPlane(limits: number[], prompts: number[], hold: (limit: number, prompt: number) => number) {
  const s = new ServiceByLength(20_000, 0);
  // Enough of them for the window to trust (MIN_SAMPLES): the pairs three times over.
  for (let i = 0; i < 3 * Math.ceil(20 / (limits.length * prompts.length)); i++)
    for (const l of limits) for (const p of prompts) s.add(l, hold(l, p), 1_000, p);
  return s;
}

test("a prompt's prefill counts in the hold where prompts vary: the plane through limits and prompts", () => {
  // 100 ms + 10 ms a generated token + 0.1 ms a prompt token; limits 8–24 (mean 16), prompts 100–4 100 (mean 2 100).
  const hold = (l: number, p: number) => 100 + 10 * l + 0.1 * p;
  const s = fedPlane([8, 16, 24], [100, 2_100, 4_100], hold);
  const mean = hold(16, 2_100); // 470 ms
  const rows: [limit: number, prompt: number | undefined, factor: number][] = [
    [16, 2_100, 1],
    [8, 100, hold(8, 100) / mean],
    [24, 4_100, hold(24, 4_100) / mean],
    [8, 4_100, hold(8, 4_100) / mean],
    [16, undefined, 1], // prompt unknown: the mean prompt's
  ];
  for (const [limit, prompt, factor] of rows)
    assert.ok(
      Math.abs(s.factor(limit, 1_000, prompt) - factor) < 1e-9,
      `${limit}, ${prompt}: ${s.factor(limit, 1_000, prompt)}`,
    );
});

test('prompts alike, or prompts that do not move the hold, leave the line on the limit as it was', () => {
  const byLimit = (l: number) => 200 + 10 * l;
  const rows: [name: string, s: ServiceByLength][] = [
    ['every prompt 5 000 tokens', fedPlane([8, 16, 24], [5_000], (l) => byLimit(l))],
    [
      'prompts of every length, the hold the limit’s alone',
      fedPlane([8, 16, 24], [100, 2_100, 4_100], (l) => byLimit(l)),
    ],
  ];
  for (const [name, s] of rows) {
    assert.ok(Math.abs(s.factor(8, 1_000, 4_100) - 280 / 360) < 1e-9, name);
    assert.ok(Math.abs(s.factor(24, 1_000, 100) - 440 / 360) < 1e-9, name);
  }
  // Limits all alike: the prompt alone tells the hold.
  const byPrompt = fedPlane([4096], [100, 2_100, 4_100], (_, p) => 300 + 0.1 * p);
  assert.ok(Math.abs(byPrompt.factor(4096, 1_000, 4_100) - 710 / 510) < 1e-9);
});
