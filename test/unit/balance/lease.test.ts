import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config, RouteConfig, UpstreamConfig } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { Lease, type LeaseEnd, type LeaseOwner } from '../../../src/balance/lease.ts';
import { Metrics } from '../../../src/observe/metrics.ts';

/** A lease whose owner records what it is told, in one log shared with the listeners. */
function leaseWithLog() {
  const log: string[] = [];
  const owner: LeaseOwner = {
    settle: (end) => log.push(`settle ${end.outcome.kind}${end.unused ? ' unused' : ''}`),
    rest: (ms) => log.push(`rest ${ms}`),
    misuse: (_lease, what) => log.push(`misuse: ${what}`),
  };
  const upstream = { name: 'u' } as UpstreamConfig;
  const lease = new Lease(
    { route: { upstream: 'u', model: 'm' } as RouteConfig, upstream, account: 'a', apiKey: undefined },
    owner,
  );
  return { lease, log };
}

test('release listeners run once, in the order added, and the owner settles after all of them', () => {
  const { lease, log } = leaseWithLog();
  const ends: LeaseEnd[] = [];
  lease.onRelease((end) => log.push(`first ${end.outcome.kind} ${end.firstTokenMs}`));
  lease.onRelease((end) => {
    ends.push(end);
    log.push('second');
  });
  assert.equal(lease.released, false);
  lease.release({ kind: 'ok' }, { firstTokenMs: 120 });
  assert.equal(lease.released, true);
  assert.deepEqual(log, ['first ok 120', 'second', 'settle ok']);
  assert.deepEqual(ends, [{ outcome: { kind: 'ok' }, firstTokenMs: 120, streamed: false, unused: false }]);
});

test('a second release runs no listener and no settle again: it is reported to the owner, not thrown', () => {
  const { lease, log } = leaseWithLog();
  lease.onRelease(() => log.push('listener'));
  lease.release({ kind: 'ok' });
  lease.release({ kind: 'server_error', status: 500 });
  lease.rest(1_000);
  assert.deepEqual(log, [
    'listener',
    'settle ok',
    'misuse: released twice',
    'rest 1000',
    'misuse: rested after its release',
  ]);
});

test('rest rests the account first, then ends the lease unused, through the listeners', () => {
  const { lease, log } = leaseWithLog();
  lease.onRelease((end) => log.push(`listener ${end.outcome.kind} unused=${end.unused}`));
  lease.rest(250);
  assert.deepEqual(log, ['rest 250', 'listener cancelled unused=true', 'settle cancelled unused']);
});

test('a listener added after the lease ended runs at once with that end, like a settled promise', () => {
  const { lease, log } = leaseWithLog();
  lease.release({ kind: 'cancelled' });
  lease.onRelease((end) => log.push(`late ${end.outcome.kind}`));
  assert.deepEqual(log, ['settle cancelled', 'late cancelled']);
});

test('a listener that throws skips neither the listeners after it nor the settle; its error is rethrown after all ran', () => {
  const cases: { name: string; throwing: number[]; rethrown: string }[] = [
    { name: 'none throws', throwing: [], rethrown: 'nothing' },
    { name: 'one throws', throwing: [0], rethrown: 'Error: listener 0' },
    { name: 'two throw', throwing: [0, 2], rethrown: 'AggregateError: listener 0, listener 2' },
  ];
  for (const c of cases) {
    const { lease, log } = leaseWithLog();
    for (let i = 0; i < 3; i++) {
      lease.onRelease(() => {
        log.push(`listener ${i}`);
        if (c.throwing.includes(i)) throw new Error(`listener ${i}`);
      });
    }
    let rethrown = 'nothing';
    try {
      lease.release({ kind: 'ok' });
    } catch (err) {
      rethrown =
        err instanceof AggregateError
          ? `AggregateError: ${err.errors.map((e: Error) => e.message).join(', ')}`
          : String(err);
    }
    assert.deepEqual(log, ['listener 0', 'listener 1', 'listener 2', 'settle ok'], c.name);
    assert.equal(rethrown, c.rethrown, c.name);
  }
});

test('a lease the balancer granted frees its slot once however often it is released, and the second release is logged', () => {
  const config = resolveConfig(
    {
      upstreams: [{ name: 'a', url: 'http://a.invalid/v1', max_concurrency: 1 }],
      models: { chat: { routes: [{ upstream: 'a' }] } },
    },
    'test',
    {},
  );
  const lines: string[] = [];
  const log = pino({ level: 'error' }, { write: (s: string) => lines.push(s) });
  const b = new Balancer(config, { clock: new FakeClock(0), metrics: new Metrics(), log, random: () => 0.5 });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  let wakes = 0;
  b.onRelease = () => wakes++;
  const lease = b.acquire(model);
  assert.throws(() => b.acquire(model), /concurrency limit/, 'the one slot is held');
  lease.release({ kind: 'ok' }, { firstTokenMs: 10 });
  lease.release({ kind: 'ok' }, { firstTokenMs: 10 });
  assert.equal(b.snapshot()[0]?.inFlight, 0, 'freed once, never below zero');
  assert.equal(wakes, 1, 'waiters woken once');
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /a lease was released twice: ignored/);
  b.acquire(model).rest(0);
  assert.equal(b.snapshot()[0]?.inFlight, 0);
});
