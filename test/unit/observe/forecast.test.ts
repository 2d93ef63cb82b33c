import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HoltForecast } from '../../../src/observe/forecast.ts';
import { capacityRps } from '../../../src/observe/capacity.ts';
import { FakeClock } from '../../../src/clock.ts';

/** Feeds `series(tS)` every `stepMs` for `seconds` on a fake clock and returns the model. */
function run(
  series: (tS: number) => number,
  seconds: number,
  stepMs = 1000,
  opts = { levelTauS: 5, trendTauS: 15 },
): HoltForecast {
  const clock = new FakeClock(0);
  const h = new HoltForecast(opts);
  for (let t = 0; t <= seconds * 1000; t += stepMs) {
    clock.set(t);
    h.observe(series(t / 1000), clock.now());
  }
  return h;
}

const cases: {
  name: string;
  series: (tS: number) => number;
  seconds: number;
  horizonS: number;
  expect: number;
  within: number;
  trendSign?: number;
}[] = [
  {
    name: 'a steady rate forecasts itself with no trend',
    series: () => 40,
    seconds: 120,
    horizonS: 60,
    expect: 40,
    within: 0.01,
    trendSign: 0,
  },
  {
    name: 'a linear ramp is extrapolated without the EWMA lag',
    series: (t) => 10 + 2 * t,
    seconds: 120,
    horizonS: 60,
    expect: 10 + 2 * 180,
    within: 15,
    trendSign: 1,
  },
  {
    name: 'a falling rate forecasts lower, never below zero',
    series: (t) => Math.max(0, 100 - t),
    seconds: 90,
    horizonS: 600,
    expect: 0,
    within: 0,
    trendSign: -1,
  },
  {
    name: 'a step up is followed within a few time constants',
    series: (t) => (t < 60 ? 10 : 50),
    seconds: 120,
    horizonS: 0,
    expect: 50,
    within: 1,
  },
];

for (const c of cases) {
  test(`Holt forecast: ${c.name}`, () => {
    const h = run(c.series, c.seconds);
    const f = h.forecast(c.horizonS);
    assert.ok(f !== undefined);
    assert.ok(Math.abs(f - c.expect) <= c.within, `forecast ${f} not within ${c.within} of ${c.expect}`);
    if (c.trendSign === 0) assert.ok(Math.abs(h.trend) < 1e-6, `trend ${h.trend}`);
    if (c.trendSign !== undefined && c.trendSign !== 0) assert.equal(Math.sign(h.trend), c.trendSign);
  });
}

test('Holt forecast: a plain EWMA would lag the ramp; the forecast of now does not', () => {
  const h = run((t) => 2 * t, 120);
  // A level-only EWMA with τ = 5 s trails a ramp of slope 2/s by about 10; Holt's level+trend sits on the line.
  assert.ok(Math.abs((h.forecast(0) ?? 0) - 240) < 3, `forecast(0) = ${h.forecast(0)}`);
});

test('Holt forecast: the result does not depend on the sampling interval', () => {
  const every1s = run((t) => 5 + 0.5 * t, 100, 1000).forecast(30) ?? NaN;
  const every250ms = run((t) => 5 + 0.5 * t, 100, 250).forecast(30) ?? NaN;
  assert.ok(Math.abs(every1s - every250ms) < 1, `${every1s} vs ${every250ms}`);
});

test('Holt forecast: nothing is forecast before the first observation; repeated timestamps and NaN are ignored', () => {
  const h = new HoltForecast({ levelTauS: 5, trendTauS: 15 });
  assert.equal(h.forecast(10), undefined);
  h.observe(10, 1000);
  h.observe(1000, 1000);
  h.observe(NaN, 2000);
  assert.equal(h.forecast(10), 10);
  assert.throws(() => new HoltForecast({ levelTauS: 0, trendTauS: 1 }), /positive/);
});

const capacityCases: {
  name: string;
  upstreams: { cap: number; available: boolean; serviceMs: number }[];
  expect: number | undefined;
}[] = [
  {
    name: "slots over service time, per upstream (Little's law)",
    upstreams: [
      { cap: 10, available: true, serviceMs: 2000 },
      { cap: 30, available: true, serviceMs: 500 },
    ],
    expect: 5 + 60,
  },
  {
    name: 'drained or ejected upstreams add nothing',
    upstreams: [
      { cap: 10, available: true, serviceMs: 500 },
      { cap: 30, available: false, serviceMs: 500 },
    ],
    expect: 20,
  },
  {
    name: 'an upstream with no answer yet counts at the mean service time of the others',
    upstreams: [
      { cap: 10, available: true, serviceMs: 1000 },
      { cap: 10, available: true, serviceMs: 0 },
    ],
    expect: 20,
  },
  {
    name: 'unknown until a service time was measured',
    upstreams: [{ cap: 10, available: true, serviceMs: 0 }],
    expect: undefined,
  },
];
for (const c of capacityCases) {
  test(`capacity estimate: ${c.name}`, () => assert.equal(capacityRps(c.upstreams), c.expect));
}

test('Holt forecast: when traffic stops after a ramp, the level falls to zero and no further', () => {
  const f = new HoltForecast({ levelTauS: 5, trendTauS: 15 });
  for (let t = 0; t <= 30; t++) f.observe(t * 10, t * 1000); // a ramp to 300 req/s
  let lowest = Infinity;
  for (let t = 31; t <= 120; t++) {
    f.observe(0, t * 1000); // traffic stops
    lowest = Math.min(lowest, f.level as number);
  }
  assert.equal(lowest, 0, 'it reaches zero');
  assert.ok((f.level as number) >= 0);
});
