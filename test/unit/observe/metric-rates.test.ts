import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  histogramQuantile,
  ratesBy,
  readRegistry,
  sumRate,
  viewFamilies,
  type MetricFamily,
} from '../../../src/observe/metric-rates.ts';

const quantileCases: { name: string; q: number; buckets: [number, number][]; expect: number | null }[] = [
  {
    name: 'empty histogram has no quantile',
    q: 0.5,
    buckets: [
      [1, 0],
      [Infinity, 0],
    ],
    expect: null,
  },
  {
    name: 'interpolates inside the bucket',
    q: 0.5,
    buckets: [
      [1, 0],
      [2, 10],
      [Infinity, 10],
    ],
    expect: 1.5,
  },
  {
    name: 'first bucket interpolates from zero',
    q: 0.5,
    buckets: [
      [0.1, 4],
      [1, 4],
      [Infinity, 4],
    ],
    expect: 0.05,
  },
  {
    name: 'in +Inf answers the highest finite bound',
    q: 0.99,
    buckets: [
      [1, 1],
      [2, 1],
      [Infinity, 10],
    ],
    expect: 2,
  },
  {
    name: 'p95 of a spread',
    q: 0.95,
    buckets: [
      [1, 50],
      [2, 90],
      [4, 100],
      [Infinity, 100],
    ],
    expect: 3,
  },
];
for (const c of quantileCases) {
  test(`histogram quantile: ${c.name}`, () => {
    const got = histogramQuantile(c.q, c.buckets);
    if (c.expect === null) assert.equal(got, null);
    else assert.ok(got !== null && Math.abs(got - c.expect) < 1e-9, `${got} vs ${c.expect}`);
  });
}

const read = (r: Registry) => readRegistry(r);

test('registry readings become counter rates, gauge values and windowed histogram quantiles for any family', async () => {
  const r = new Registry();
  const c = new Counter({
    name: 'spillway_cache_lookups_total',
    help: 'a family this module has never heard of',
    labelNames: ['result'],
    registers: [r],
  });
  const g = new Gauge({ name: 'g', help: 'g', labelNames: ['p'], registers: [r] });
  const h = new Histogram({
    name: 'lat_seconds',
    help: 'h',
    labelNames: ['model'],
    buckets: [0.1, 1, 10],
    registers: [r],
  });
  c.inc({ result: 'hit' }, 100);
  h.observe({ model: 'a' }, 5); // before the window: must not count
  const prev = await read(r);
  c.inc({ result: 'hit' }, 20);
  c.inc({ result: 'miss' }, 10); // series born inside the window
  g.set({ p: 'high' }, 7);
  for (let i = 0; i < 10; i++) h.observe({ model: i < 5 ? 'a' : 'b' }, 0.5);
  const views = viewFamilies(prev, await read(r), 2);
  assert.equal(sumRate(views, 'spillway_cache_lookups_total'), 15);
  assert.deepEqual(ratesBy(views, 'spillway_cache_lookups_total', 'result'), { hit: 10, miss: 5 });
  const gv = views.find((v) => v.name === 'g');
  assert.ok(gv?.type === 'gauge');
  assert.deepEqual(gv.series, [{ labels: { p: 'high' }, value: 7 }]);
  const hv = views.find((v) => v.name === 'lat_seconds');
  assert.ok(hv?.type === 'histogram');
  assert.equal(hv.all.perSecond, 5);
  assert.ok(
    hv.all.p99 !== null && hv.all.p99 <= 1,
    `the old 5 s observation is outside the window (p99 ${hv.all.p99})`,
  );
  assert.equal(hv.series.length, 2);
});

test('a counter that went backwards (a restart) counts from zero instead of a negative rate', () => {
  const prev: MetricFamily[] = [{ name: 'x_total', help: '', type: 'counter', values: [{ value: 100, labels: {} }] }];
  const cur: MetricFamily[] = [{ name: 'x_total', help: '', type: 'counter', values: [{ value: 4, labels: {} }] }];
  assert.equal(sumRate(viewFamilies(prev, cur, 1), 'x_total'), 4);
});

test("a reading collects only the families it keeps: a dropped family's collect callback (process metrics listing every descriptor) never runs", async () => {
  const r = new Registry();
  let collected = 0;
  new Gauge({
    name: 'spillway_process_open_fds',
    help: 'costly to collect',
    registers: [r],
    collect() {
      collected++;
      this.set(1);
    },
  });
  new Counter({ name: 'spillway_requests_total', help: 'own', registers: [r] }).inc(2);
  const families = await readRegistry(r, (name) => !name.startsWith('spillway_process_'));
  assert.deepEqual(
    families.map((f) => f.name),
    ['spillway_requests_total'],
  );
  assert.equal(families[0]?.values[0]?.value, 2);
  assert.equal(collected, 0);
  await readRegistry(r);
  assert.equal(collected, 1, 'kept when not filtered');
});
