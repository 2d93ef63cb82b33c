import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer, type Lease } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import type { Outcome } from '../../../src/upstream/outcome.ts';

function setup(keys: string[]) {
  const c = resolveConfig(
    {
      upstreams: [{ name: 'ds', url: 'http://ds.invalid', keys: keys.map((k) => ({ key: `sk-${k}`, name: k })) }],
      models: { chat: { routes: [{ upstream: 'ds' }] } },
    },
    'test',
    {},
  );
  const metrics = new Metrics();
  const clock = new FakeClock(0);
  const b = new Balancer(c, { clock, metrics, log: createLogger('silent'), random: () => 0.5 }, undefined);
  const model = c.models.chat as NonNullable<Config['models'][string]>;
  const caps = () => Object.fromEntries((b.snapshot()[0]?.accounts ?? []).map((a) => [a.name, a.cap]));
  return { b, model, caps, metrics, clock };
}

test("one 429 that names the account's limit makes it the cap at once; without one, busy answers that are most answers lower it to what was in flight", () => {
  const rows: [name: string, outcome: Outcome, refusals: number, cap: number][] = [
    ['stated', { kind: 'rate_limited', retryAfterMs: 0, limit: 5 }, 1, 5],
    ['not stated, once', { kind: 'rate_limited', retryAfterMs: 0 }, 1, 256],
    // Three in a row, with 30, 29 and 28 in flight: the third says the account took 27.
    ['not stated, three times', { kind: 'rate_limited', retryAfterMs: 0 }, 3, 27],
  ];
  for (const [name, outcome, refusals, cap] of rows) {
    const { b, model, caps } = setup(['one']);
    const leases: Lease[] = Array.from({ length: 30 }, () => b.acquire(model));
    for (let i = 0; i < refusals; i++) leases[i]?.release(outcome);
    assert.equal(caps().one, cap, name);
  }
});

test('a 402 disables that key, counts it by reason, and the other key takes every request', async () => {
  const { b, model, caps, metrics } = setup(['unpaid', 'paid']);
  const first = b.acquire(model);
  assert.equal(first.account, 'unpaid');
  first.release({ kind: 'insufficient_balance', status: 402 });
  for (let i = 0; i < 5; i++) assert.equal(b.acquire(model).account, 'paid');
  assert.ok((b.snapshot()[0]?.accounts.find((a) => a.name === 'unpaid')?.disabledMs ?? 0) > 0);
  assert.ok(caps().paid !== undefined);
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /spillway_account_disabled_total\{upstream="ds",account="unpaid",reason="insufficient_balance"\} 1/,
  );
});

test('a long Retry-After rests the account for that long: the snapshot (the admin API) shows restingMs, and coolingMs by its first name', () => {
  const { b, model, clock } = setup(['one', 'two']);
  const lease = b.acquire(model);
  lease.release({ kind: 'rate_limited', retryAfterMs: 10_000 });
  const rested = () => b.snapshot()[0]?.accounts.find((a) => a.name === lease.account);
  assert.equal(rested()?.restingMs, 10_000);
  assert.equal(rested()?.coolingMs, 10_000);
  for (let i = 0; i < 3; i++)
    assert.notEqual(b.acquire(model).account, lease.account, 'a resting account takes no request');
  clock.advance(10_000);
  assert.deepEqual([rested()?.restingMs, rested()?.coolingMs], [0, 0]);
});

test('a 429 at the cap just after we cut an attempt steps the limit down without holding it there; one with no cut before it holds', () => {
  const rows: [name: string, cutFirst: boolean, capAfterARound: number][] = [
    ['after our own cut (the upstream still counted it)', true, 6],
    ['with no cut before it (the cap is lower)', false, 5],
  ];
  for (const [name, cutFirst, capAfterARound] of rows) {
    const c = resolveConfig(
      {
        upstreams: [{ name: 'b', url: 'http://b.invalid/v1', max_concurrency: 6 }],
        models: { chat: { routes: [{ upstream: 'b' }] } },
      },
      'test',
      {},
    );
    const clock = new FakeClock(0);
    const b = new Balancer(c, { clock, metrics: new Metrics(), log: createLogger('silent'), random: () => 0.5 });
    const model = c.models.chat as NonNullable<Config['models'][string]>;
    const cap = () => b.snapshot()[0]?.accounts[0]?.cap;
    const leases: Lease[] = Array.from({ length: 6 }, () => b.acquire(model));
    if (cutFirst) {
      leases[0]?.release({ kind: 'timeout', phase: 'idle', afterFirstByte: true });
      leases[0] = b.acquire(model);
    }
    clock.advance(10);
    leases[1]?.release({ kind: 'rate_limited', retryAfterMs: 1_000 }); // 6 of 6 in flight
    assert.equal(cap(), 5, `${name}: the next request does not meet the same refusal`);
    for (const l of leases) if (l?.released === false) l.release({ kind: 'ok' });
    for (let i = 0; i < 6; i++) {
      clock.advance(50);
      b.acquire(model).release({ kind: 'ok' });
    }
    assert.equal(cap(), capAfterARound, name);
  }
});
