import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { RequestLog } from '../../../src/observe/request-log.ts';
import { StatsSampler, type StatsPoint, type StatsSources } from '../../../src/admin/stats-sampler.ts';
import type { FinishedRequest } from '../../../src/observe/request-log.ts';

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
  const sources: StatsSources = {
    clock,
    metrics,
    requestLog: new RequestLog(10),
    live: () => ({ config, balancer, queue }),
    requestsInFlight: () => inFlight,
    info: () => ({ source: 'test', loadedAt: 'now', reloads: 0, replacedStillFinishing: 0 }),
  };
  const sampler = new StatsSampler(sources);
  const finish = (n: number, code = 'ok', status = '200') =>
    metrics.requests.inc({ model: 'chat', upstream: 'a', status, code }, n);
  return { clock, metrics, balancer, sampler, sources, finish, setInFlight: (n: number) => (inFlight = n) };
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
  lease.release({ kind: 'ok' }, { firstTokenMs: 100 });
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
  lease.release({ kind: 'ok' }, { firstTokenMs: 100 });
  assert.equal((await sampler.sample()).forecast.capacityRps, 10);
  balancer.setDrained('a', true);
  clock.advance(1000);
  assert.equal((await sampler.sample()).forecast.capacityRps, 0);
});

/** Counts reads of the whole registry (what a full sample does and a quiet beat must not). */
function countReads(s: ReturnType<typeof setup>): () => number {
  const registry = s.metrics.registry;
  const read = registry.getMetricsAsArray.bind(registry);
  let n = 0;
  registry.getMetricsAsArray = () => {
    n++;
    return read();
  };
  return () => n;
}

/** A finished request as the server hands it to the sampler (and to the registry, as its own finish() does). */
function finishRequests(s: ReturnType<typeof setup>, n: number, latencyS = 0.2): void {
  s.finish(n);
  for (let i = 0; i < n; i++) {
    s.metrics.requestDuration.observe({ model: 'chat', stream: 'false' }, latencyS);
    s.sampler.noteRequest({ code: 'ok', cache: undefined } as FinishedRequest);
  }
}

/** One second on, one beat: whether it was quiet (a full one is awaited). */
async function nextBeat(s: ReturnType<typeof setup>): Promise<'quiet' | 'full'> {
  s.clock.advance(1000);
  const full = s.sampler.beat();
  if (full === undefined) return 'quiet';
  await full;
  return 'full';
}

const withoutTime = (p: StatsPoint): Omit<StatsPoint, 't'> => {
  const { t: _t, ...rest } = p;
  return rest;
};

test('quiet beats keep one chart point a second, equal to what full samples give, without reading the registry', async () => {
  const s = setup();
  // The twin samples fully every second from the same gateway: what the dashboard showed before quiet beats.
  const twin = new StatsSampler(s.sources);
  const lease = s.balancer.acquire(s.sources.live().config.models.chat as never);
  s.clock.advance(400);
  lease.release({ kind: 'ok' }, { firstTokenMs: 100 });
  await s.sampler.sample();
  await twin.sample();
  const reads = countReads(s);
  // Per second: requests finished in it and requests in flight at its end. Idle, a burst, a long idle, a storm.
  const script: [finished: number, inFlight: number][] = [
    ...Array.from({ length: 5 }, (): [number, number] => [0, 0]),
    [4, 2],
    [8, 6],
    [0, 3],
    [5, 0],
    ...Array.from({ length: 40 }, (): [number, number] => [0, 0]),
    [30, 40],
    [60, 80],
    [90, 20],
  ];
  let quietBeats = 0;
  for (const [finished, inFlight] of script) {
    s.clock.advance(1000);
    finishRequests(s, finished);
    s.setInFlight(inFlight);
    const before = reads();
    const full = s.sampler.beat();
    if (full === undefined) {
      quietBeats++;
      assert.equal(reads(), before, 'a quiet beat reads no metric family');
    } else await full;
    await twin.sample();
  }
  assert.ok(quietBeats >= 40, `most idle seconds are quiet beats (${quietBeats})`);
  assert.equal(s.sampler.history.length, twin.history.length, 'one point a beat, quiet or not');
  assert.deepEqual(s.sampler.history.map(withoutTime), twin.history.map(withoutTime));
  const last = s.sampler.history.at(-1);
  assert.ok(last !== undefined && last.rps > 0 && last.p95 !== null, 'the storm after the idle spell is charted');
});

test('the forecast gauges keep following while the gateway is quiet', async () => {
  const s = setup();
  for (let i = 0; i < 10; i++) {
    finishRequests(s, 20);
    await nextBeat(s);
  }
  const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]?.value;
  const busy = await gauge(s.metrics.demandRps);
  let quiet = 0;
  for (let i = 0; i < 30; i++) if ((await nextBeat(s)) === 'quiet') quiet++;
  assert.ok(quiet > 20, `quiet beats ${quiet}`);
  const last = s.sampler.history.at(-1);
  assert.ok(busy !== undefined && busy > 10, `demand while busy ${busy}`);
  assert.equal(await gauge(s.metrics.demandRps), last?.demand, 'set by the last (quiet) beat');
  assert.equal(await gauge(s.metrics.demandForecastRps), last?.forecast);
  assert.ok((last?.demand ?? busy) < 1, `demand decayed: ${last?.demand}`);
});

test('a viewer, a request in flight or one that came and went between beats brings full samples back at once', async () => {
  const s = setup();
  const reads = countReads(s);
  await s.sampler.sample();
  assert.equal(await nextBeat(s), 'quiet', 'idle and unwatched');
  s.setInFlight(1);
  assert.equal(await nextBeat(s), 'full', 'a request in flight');
  s.setInFlight(0);
  // Full until the window no longer holds it (bounded: a window is five beats).
  const settle = async () => {
    for (let i = 0; i < 10; i++) if ((await nextBeat(s)) === 'quiet') return;
    assert.fail('never quiet again');
  };
  await settle();
  finishRequests(s, 1);
  assert.equal(await nextBeat(s), 'full', 'a request that finished between beats');
  await settle();
  const frames: number[] = [];
  const stop = s.sampler.subscribe((f) => frames.push(f.point.t));
  const before = reads();
  const beat = s.sampler.beat();
  assert.ok(beat !== undefined, 'a viewer gets full frames');
  await beat;
  assert.equal(frames.length, 1);
  assert.equal(reads(), before + 1);
  stop();
  assert.equal(await nextBeat(s), 'quiet', 'the viewer gone');
});

test('GET /admin/stats after quiet beats gets a fresh frame, not the last one taken', async () => {
  const s = setup();
  await s.sampler.sample();
  s.clock.advance(1000);
  assert.equal(s.sampler.beat(), undefined);
  s.balancer.setDrained('a', true);
  const frame = await s.sampler.latest();
  assert.equal(frame.upstreams[0]?.drained, true);
  assert.equal(await s.sampler.latest(), frame, 'until the next beat the frame is reused');
});
