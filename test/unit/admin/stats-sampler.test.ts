import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { RequestLog } from '../../../src/observe/request-log.ts';
import { StatsSampler } from '../../../src/admin/stats-sampler.ts';

function setup() {
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const config = resolveConfig(
    {
      upstreams: [{ name: 'a', url: 'http://a.invalid/v1', max_concurrency: 10 }],
      models: { chat: { routes: [{ upstream: 'a' }] } },
    },
    'test',
    {},
  );
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent') });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive: () => () => {} });
  let inFlight = 0;
  const sampler = new StatsSampler({
    clock,
    metrics,
    requestLog: new RequestLog(10),
    live: () => ({ config, balancer, queue }),
    requestsInFlight: () => inFlight,
    info: () => ({ source: 'test', loadedAt: 'now', reloads: 0, replacedStillFinishing: 0 }),
  });
  const finish = (n: number, code = 'ok', status = '200') =>
    metrics.requests.inc({ model: 'chat', upstream: 'a', status, code }, n);
  return { clock, metrics, balancer, sampler, finish, setInFlight: (n: number) => (inFlight = n) };
}

test('rates are split into ok, shed (refused on purpose) and failed, over the recent window', async () => {
  const { clock, sampler, finish } = setup();
  await sampler.sample();
  for (let s = 0; s < 6; s++) {
    clock.advance(1000);
    finish(10);
    finish(2, 'queue_full', '503');
    finish(1, 'upstream_error', '502');
    finish(1, 'client_closed', '499');
    await sampler.sample();
  }
  const f = await sampler.latest();
  assert.equal(f.point.ok, 10);
  assert.equal(f.point.shed, 2);
  assert.equal(f.point.failed, 1, 'client_closed is neither shed nor failed');
  assert.equal(f.point.rps, 14);
  assert.equal(f.point.admitted, 12, 'everything not shed was admitted');
  assert.deepEqual(f.failures, { queue_full: 2, upstream_error: 1, client_closed: 1 });
  assert.equal(sampler.history.length, 7);
});

test('a rising arrival rate gives a rising forecast, exported as metrics; capacity follows the measured service time', async () => {
  const { clock, metrics, balancer, sampler, finish, setInFlight } = setup();
  const c = resolveConfig(
    { upstreams: [{ name: 'a', url: 'http://a.invalid/v1' }], models: { chat: { routes: [{ upstream: 'a' }] } } },
    'test',
    {},
  );
  // One answer that held its slot 500 ms: 10 slots / 0.5 s = 20 requests per second.
  const lease = balancer.acquire(c.models.chat as NonNullable<(typeof c.models)[string]>);
  clock.advance(500);
  lease.release({ kind: 'ok' }, 100);
  await sampler.sample();
  for (let s = 1; s <= 60; s++) {
    clock.advance(1000);
    finish(s); // the arrival rate grows by 1/s every second
    setInFlight(s % 3); // arrivals count requests still in flight, too
    await sampler.sample();
  }
  const f = await sampler.latest();
  assert.ok(f.forecast.demandRps !== null && Math.abs(f.forecast.demandRps - 60) < 8, `demand ${f.forecast.demandRps}`);
  assert.ok(f.forecast.trendPerS > 0.5, `trend ${f.forecast.trendPerS}`);
  assert.ok(f.forecast.forecastRps !== null && f.forecast.forecastRps > 100, `forecast ${f.forecast.forecastRps}`);
  assert.equal(f.forecast.capacityRps, 20);
  assert.ok(f.forecast.utilization !== null && f.forecast.utilization > 5);
  const text = await metrics.registry.metrics();
  assert.match(text, /spillway_capacity_rps 20\n/);
  assert.match(text, /spillway_demand_forecast_rps\{horizon_seconds="60"\} \d+/);
  assert.match(text, /spillway_forecast_utilization \d/);
});

test('a drained upstream adds no capacity', async () => {
  const { clock, balancer, sampler } = setup();
  const c = resolveConfig(
    { upstreams: [{ name: 'a', url: 'http://a.invalid/v1' }], models: { chat: { routes: [{ upstream: 'a' }] } } },
    'test',
    {},
  );
  const lease = balancer.acquire(c.models.chat as NonNullable<(typeof c.models)[string]>);
  clock.advance(1000);
  lease.release({ kind: 'ok' }, 100);
  assert.equal((await sampler.sample()).forecast.capacityRps, 10);
  balancer.setDrained('a', true);
  clock.advance(1000);
  assert.equal((await sampler.sample()).forecast.capacityRps, 0);
});
