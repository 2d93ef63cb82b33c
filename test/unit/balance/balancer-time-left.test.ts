import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { SpillwayError } from '../../../src/errors.ts';
import type { Outcome } from '../../../src/upstream/outcome.ts';

/** Upstream "fast" and upstream "slow", one slot each, one model routed to both. */
function setup() {
  const config: Config = resolveConfig(
    {
      upstreams: ['fast', 'slow'].map((n) => ({ name: n, url: `http://${n}.invalid/v1`, max_concurrency: 1 })),
      models: { chat: { routes: [{ upstream: 'fast' }, { upstream: 'slow' }] } },
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const b = new Balancer(config, { clock, metrics: new Metrics(), log: createLogger('silent'), random: () => 0.5 });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  /** One answer on `name` that holds its slot `ms`, so the balancer learns that upstream's service time. */
  const serve = (name: string, ms: number, outcome: Outcome = { kind: 'ok' }) => {
    const lease = b.acquire(model, new Set(['fast', 'slow'].filter((n) => n !== name)));
    assert.equal(lease.upstream.name, name);
    clock.advance(ms);
    lease.release(outcome);
  };
  return { b, model, clock, serve };
}

const tooSlow = (e: unknown) => e instanceof SpillwayError && e.code === 'no_capacity' && e.detail === 'too_slow';

test('a request with less time left than a slow upstream takes is given the faster one, and waits when only the slow one is free', () => {
  const { b, model, serve } = setup();
  serve('fast', 300);
  serve('slow', 600);
  // Table: time left → where it goes with both slots free.
  for (const [leftMs, want] of [
    [400, 'fast'],
    [Infinity, undefined],
  ] as const) {
    const lease = b.acquire(model, undefined, leftMs);
    if (want !== undefined) assert.equal(lease.upstream.name, want, `${leftMs} ms left`);
    lease.release({ kind: 'cancelled' });
  }
  const busyFast = b.acquire(model, new Set(['slow']));
  assert.equal(busyFast.upstream.name, 'fast');
  assert.throws(() => b.acquire(model, undefined, 400), tooSlow, 'only the slow slot is free: this one waits');
  const next = b.acquire(model, undefined, 700);
  assert.equal(next.upstream.name, 'slow', 'the next request, with time enough, takes that slot');
});

test('when no upstream is known to fit the time left, any free one is its best chance', () => {
  const { b, model, serve } = setup();
  serve('fast', 300);
  serve('slow', 600);
  const fast = b.acquire(model, new Set(['slow']));
  assert.equal(b.acquire(model, undefined, 200).upstream.name, 'slow', 'nothing fits 200 ms: not refused for that');
  fast.release({ kind: 'cancelled' });
});

test('attempts cut at their client deadline say nothing of the upstream: they never take it out of rotation', () => {
  const deadline: Outcome = { kind: 'timeout', phase: 'deadline', afterFirstByte: true };
  const idle: Outcome = { kind: 'timeout', phase: 'idle', afterFirstByte: true };
  for (const [outcome, ejected] of [
    [deadline, false],
    [idle, true],
  ] as const) {
    const { b, serve } = setup();
    // The default failure_threshold is 5 in a row.
    for (let i = 0; i < 5; i++) serve('slow', 500, outcome);
    const slow = b.snapshot().find((u) => u.name === 'slow');
    assert.equal(slow?.health === 'ejected', ejected, `${outcome.kind}:${'phase' in outcome ? outcome.phase : ''}`);
  }
});

test('the upstreams out of rotation are those passive health ejected (until a probe succeeds) and those drained', () => {
  const { b, serve, clock } = setup();
  assert.deepEqual([...b.outOfRotation(clock.now())], []);
  const reset: Outcome = { kind: 'reset', afterFirstByte: false, detail: 'ECONNRESET' };
  for (let i = 0; i < 5; i++) serve('slow', 10, reset);
  assert.deepEqual([...b.outOfRotation(clock.now())], ['slow'], 'ejected');
  clock.advance(60_000);
  assert.deepEqual([...b.outOfRotation(clock.now())], ['slow'], 'half-open: out until its probe succeeds');
  serve('slow', 10);
  assert.deepEqual([...b.outOfRotation(clock.now())], [], 'the probe succeeded');
  b.setDrained('fast', true);
  assert.deepEqual([...b.outOfRotation(clock.now())], ['fast'], 'drained by an operator');
});
