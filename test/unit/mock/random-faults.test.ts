import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  drawFaults,
  faultRateProblems,
  pickFault,
  type FaultKind,
  type FaultRates,
} from '../../../src/mock/random-faults.ts';
import { RNG_STREAM, createRng, requestRng } from '../../../src/mock/rng.ts';

const RATES: FaultRates = {
  error500: 0.1,
  resetBeforeHeaders: 0.05,
  resetMidStream: 0.1,
  stall: 0.05,
  slowTokens: 0.2,
};

/** Draws for requests 1..n exactly as the mock does (one generator per request index). */
function draws(rates: FaultRates, n: number, seed = 1, tokens = 16) {
  return Array.from({ length: n }, (_, i) => drawFaults(rates, requestRng(seed, RNG_STREAM.faults, i + 1), tokens));
}

test('each fault kind fires at its configured rate over 4000 seeded requests (±0.02)', () => {
  for (const seed of [1, 2, 99]) {
    const got = new Map<FaultKind | 'none', number>();
    for (const d of draws(RATES, 4000, seed)) got.set(d?.kind ?? 'none', (got.get(d?.kind ?? 'none') ?? 0) + 1);
    for (const [kind, p] of Object.entries(RATES) as [FaultKind, number][]) {
      const rate = (got.get(kind) ?? 0) / 4000;
      assert.ok(Math.abs(rate - p) <= 0.02, `seed ${seed}: ${kind} fired at ${rate}, configured ${p}`);
    }
    assert.ok(Math.abs((got.get('none') ?? 0) / 4000 - 0.5) <= 0.03, `seed ${seed}: healthy share`);
  }
});

test('a single p=0.1 fault fires 100±30 times in 1000 requests, for every one of 20 seeds', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const n = draws({ error500: 0.1 }, 1000, seed).filter((d) => d !== undefined).length;
    assert.ok(n >= 70 && n <= 130, `seed ${seed}: ${n}`);
  }
});

test('the same seed gives the same faults to the same requests; another seed gives others', () => {
  const a = draws(RATES, 300, 7);
  assert.deepEqual(draws(RATES, 300, 7), a);
  assert.notDeepEqual(draws(RATES, 300, 8), a);
});

test('a reset mid-stream comes after at least one token and before the last, at seeded varied positions', () => {
  const cuts = draws({ resetMidStream: 1 }, 500, 3, 10).map((d) => d?.faults.resetAfterTokens as number);
  assert.ok(
    cuts.every((c) => c >= 1 && c <= 9),
    'inside the answer',
  );
  assert.deepEqual(new Set(cuts), new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'every position occurs');
  assert.deepEqual(drawFaults({ resetMidStream: 1 }, createRng(1), 1)?.faults, { resetAfterTokens: 1 });
});

test('a stall is after the headers or after some tokens, never after the whole answer', () => {
  const stalls = draws({ stall: 1 }, 300, 4, 5).map((d) => d?.faults);
  assert.ok(stalls.some((f) => f?.stallAfterHeaders === true));
  assert.ok(
    stalls.every(
      (f) => f?.stallAfterHeaders === true || ((f?.stallAfterTokens ?? 0) >= 1 && (f?.stallAfterTokens ?? 0) <= 4),
    ),
  );
});

test('slow tokens use slowTokenMs, 200 by default; a 500 and a reset before headers are plain faults', () => {
  assert.deepEqual(drawFaults({ slowTokens: 1, slowTokenMs: 80 }, createRng(1), 4)?.faults, {
    tokenMs: 80,
    slowTokens: true,
  });
  assert.deepEqual(drawFaults({ slowTokens: 1 }, createRng(1), 4)?.faults, { tokenMs: 200, slowTokens: true });
  assert.deepEqual(drawFaults({ error500: 1 }, createRng(1), 4), { kind: 'error500', faults: { status: 500 } });
  assert.deepEqual(drawFaults({ resetBeforeHeaders: 1 }, createRng(1), 4)?.faults, { resetBeforeHeaders: true });
});

test('one draw picks at most one kind: the rates are consecutive slices of [0, 1)', () => {
  const rates: FaultRates = {
    error500: 0.1,
    resetBeforeHeaders: 0.1,
    resetMidStream: 0.1,
    stall: 0.1,
    slowTokens: 0.1,
  };
  const table: [number, FaultKind | undefined][] = [
    [0, 'error500'],
    [0.0999, 'error500'],
    [0.1, 'resetBeforeHeaders'],
    [0.25, 'resetMidStream'],
    [0.35, 'stall'],
    [0.45, 'slowTokens'],
    [0.5, undefined],
    [0.999, undefined],
  ];
  for (const [u, kind] of table) assert.equal(pickFault(rates, u), kind, String(u));
  assert.equal(pickFault({}, 0), undefined);
});

test('rate problems name the field: not a probability, unknown, or a sum above 1', () => {
  assert.deepEqual(faultRateProblems(RATES), []);
  const problems = faultRateProblems({ error500: 1.5, stall: -0.1, slowTokenMs: 1.5, bogus: 0.1 } as FaultRates).join(
    '\n',
  );
  assert.match(problems, /faults.error500=1.5 is not a probability/);
  assert.match(problems, /faults.stall=-0.1/);
  assert.match(problems, /faults.slowTokenMs=1.5/);
  assert.match(problems, /faults.bogus is not a fault/);
  assert.match(faultRateProblems({ error500: 0.6, stall: 0.6 }).join(), /add up to 1.2/);
  assert.deepEqual(faultRateProblems({ error500: undefined, stall: 0.1 }), [], 'an undefined rate is no rate');
  assert.deepEqual(faultRateProblems(null as unknown as FaultRates), ['faults must be a map of rates']);
});

test('the Storm II fault kinds each draw their own fault; 429 and 503 carry the Retry-After given', () => {
  const one = (rates: FaultRates, tokens = 4) => drawFaults(rates, createRng(5), tokens, 7)?.faults;
  assert.deepEqual(one({ error429: 1 }), { status: 429, retryAfterS: 7 });
  assert.deepEqual(one({ error503: 1 }), { status: 503, retryAfterS: 7 });
  assert.deepEqual(one({ stallBeforeFirstToken: 1 }), { stallAfterHeaders: true });
  assert.deepEqual(one({ blank200: 1 }), { blank200: true });
  assert.deepEqual(one({ keepAliveForever: 1 }), { keepAliveForever: true });
  assert.deepEqual(one({ wrongContentType: 1 }), { wrongContentType: true });
  const mid = draws({ stallMidStream: 1 }, 300, 2, 6).map((d) => d?.faults.stallAfterTokens as number);
  assert.deepEqual(new Set(mid), new Set([1, 2, 3, 4, 5]), 'a mid-stream stall is after 1 … n−1 tokens');
  const ends = draws({ truncatedBody: 1 }, 300, 2, 6).map((d) => d?.faults.endAfterTokens as number);
  assert.deepEqual(new Set(ends), new Set([1, 2, 3, 4, 5]), 'a clean truncation is inside the answer');
});

test('new kinds were appended: a fleet with only the old kinds draws exactly as before', () => {
  const old: FaultRates = { error500: 0.1, resetBeforeHeaders: 0.1, resetMidStream: 0.1, stall: 0.1, slowTokens: 0.1 };
  const withNew: FaultRates = { ...old, blank200: 0.2 };
  const a = draws(old, 500, 3);
  const b = draws(withNew, 500, 3);
  a.forEach((d, i) => {
    if (d !== undefined) assert.deepEqual(b[i], d, `request ${i + 1}`);
    else assert.ok(b[i] === undefined || b[i]?.kind === 'blank200');
  });
  assert.deepEqual(faultRateProblems({ blank200: 0.6, truncatedBody: 0.6 }), [
    'faults rates add up to 1.2, more than 1',
  ]);
});
