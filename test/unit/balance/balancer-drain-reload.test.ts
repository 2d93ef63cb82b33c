import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { SpillwayError } from '../../../src/errors.ts';

function config(cap: number, names = ['a', 'b']): Config {
  return resolveConfig(
    {
      upstreams: names.map((n) => ({ name: n, url: `http://${n}.invalid/v1`, max_concurrency: cap })),
      models: { chat: { routes: names.map((n) => ({ upstream: n })) } },
    },
    'test',
    {},
  );
}

function balancer(c: Config, previous?: Balancer, metrics = new Metrics(), clock = new FakeClock(0)): Balancer {
  return new Balancer(c, { clock, metrics, log: createLogger('silent'), random: () => 0.5 }, previous);
}

const model = (c: Config) => c.models.chat as NonNullable<Config['models'][string]>;

test('a drained upstream is never picked; with every route drained the answer is no_capacity "down", at once', () => {
  const c = config(10);
  const b = balancer(c);
  assert.equal(b.setDrained('a', true), true);
  for (let i = 0; i < 8; i++) assert.equal(b.acquire(model(c)).upstream.name, 'b');
  assert.equal(b.setDrained('b', true), true);
  assert.throws(
    () => b.acquire(model(c)),
    (e: unknown) => e instanceof SpillwayError && e.code === 'no_capacity' && e.detail === 'down',
  );
  assert.equal(b.setDrained('nope', true), false);
  assert.deepEqual(
    b.snapshot().map((u) => [u.name, u.drained, u.inFlight]),
    [
      ['a', true, 0],
      ['b', true, 8],
    ],
  );
});

test('undraining wakes whoever waits for capacity', () => {
  const c = config(10);
  const b = balancer(c);
  let woken = 0;
  b.onRelease = () => woken++;
  b.setDrained('a', true);
  b.setDrained('a', false);
  assert.equal(woken, 1);
});

test('a balancer built by a reload shares in-flight counts with the one it replaces, so caps hold across the swap', () => {
  const metrics = new Metrics();
  const c1 = config(2);
  const old = balancer(c1, undefined, metrics);
  const leases = [old.acquire(model(c1)), old.acquire(model(c1)), old.acquire(model(c1))];
  const onA = leases.filter((l) => l.upstream.name === 'a');
  const onB = leases.filter((l) => l.upstream.name === 'b');
  assert.ok(onA.length >= 1 && onB.length >= 1, 'both upstreams hold a lease');
  old.setDrained('b', true);
  const c2 = config(2);
  const fresh = balancer(c2, old, metrics);
  assert.deepEqual(
    fresh.snapshot().map((u) => [u.name, u.inFlight, u.drained]),
    [
      ['a', onA.length, false],
      ['b', onB.length, true],
    ],
  );
  // Between both balancers a has 2 - onA slots left; b is drained (the drain carried over).
  for (let i = 0; i < 2 - onA.length; i++) assert.equal(fresh.acquire(model(c2)).upstream.name, 'a');
  assert.throws(
    () => fresh.acquire(model(c2)),
    (e: unknown) => e instanceof SpillwayError && e.code === 'no_capacity',
  );
  // A lease of the old balancer ending frees a slot the new one can use.
  onA[0]?.release({ kind: 'ok' }, { firstTokenMs: 10 });
  assert.equal(fresh.acquire(model(c2)).upstream.name, 'a');
});

test('an upstream removed by a reload leaves no stale metric series; a changed cap is applied', async () => {
  const metrics = new Metrics();
  const c = config(4, ['a', 'b']);
  const old = balancer(c, undefined, metrics);
  const leases = [old.acquire(model(c)), old.acquire(model(c)), old.acquire(model(c))];
  const fresh = balancer(config(6, ['a']), old, metrics);
  metrics.inFlightSource = () => fresh.inFlightRows(); // as the gateway wires it: the live balancer
  for (const l of leases) l.release({ kind: 'ok' }, { firstTokenMs: 5 }); // the old balancer's last requests end after the swap
  const text = await metrics.registry.metrics();
  // Gauges describe the present: b's are gone. (Counters such as attempts keep its history.)
  assert.doesNotMatch(
    text,
    /spillway_(upstream_(in_flight|concurrency_limit|max_concurrency|healthy|drained)|account_in_flight)\{[^}]*upstream="b"/,
  );
  assert.match(text, /spillway_upstream_in_flight\{upstream="a"\} 0/);
  assert.match(text, /spillway_upstream_max_concurrency\{upstream="a"\} 6/);
});

test('the in-flight gauges read the live balancer when scraped, per upstream and per account', async () => {
  const metrics = new Metrics();
  const c = config(4, ['a']);
  const b = balancer(c, undefined, metrics);
  metrics.inFlightSource = () => b.inFlightRows();
  const leases = [b.acquire(model(c)), b.acquire(model(c))];
  let text = await metrics.registry.metrics();
  assert.match(text, /spillway_upstream_in_flight\{upstream="a"\} 2/);
  assert.match(text, /spillway_account_in_flight\{upstream="a",account="default"\} 2/);
  leases[0]?.release({ kind: 'ok' }, { firstTokenMs: 5 });
  text = await metrics.registry.metrics();
  assert.match(text, /spillway_upstream_in_flight\{upstream="a"\} 1/);
  assert.match(text, /spillway_account_in_flight\{upstream="a",account="default"\} 1/);
});
