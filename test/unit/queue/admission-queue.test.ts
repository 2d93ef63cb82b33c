import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import type { SpillwayError } from '../../../src/errors.ts';
import type { RequestContext } from '../../../src/server/context.ts';

/** A queue in front of one upstream with `cap` slots, on a fake clock. */
function oneUpstreamQueue(cap: number, queueConfig: Record<string, unknown> = {}) {
  const config = resolveConfig({
    upstreams: [{ name: 'a', url: 'http://a.invalid/v1', max_concurrency: cap }],
    models: { chat: { routes: [{ upstream: 'a' }] } },
    queue: queueConfig,
  }, 'test', {});
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0.5 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics });
  return { queue, clock, model: config.models.chat as NonNullable<Config['models'][string]>, none: new Set<string>() };
}

test('every way a lease ends gives its slot back to the queue’s count of held leases (release, rest, twice)', () => {
  const { queue, model, none } = oneUpstreamQueue(4);
  const released = queue.acquireNow(model, none);
  const rested = queue.acquireNow(model, none);
  assert.equal(queue.heldLeases, 2);
  released.release({ kind: 'ok' });
  released.release({ kind: 'ok' }); // a second release is a no-op
  assert.equal(queue.heldLeases, 1);
  rested.rest(1_000); // an account gate said no: the slot goes back unused
  assert.equal(queue.heldLeases, 0);
  queue.close();
});

test('a waiting request is dropped as soon as a lasting surge makes it hopeless, long before its deadline', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2, { burst_allowance: '2s', surge_factor: 1, recheck_margin: 1.25, max_wait: '60s' });
  const ctx = (priority: 'high' | 'low', deadlineMs: number) => ({
    priority, tenant: '', deadlineAt: clock.now() + deadlineMs, call: undefined, clientGone: new AbortController().signal,
  }) as unknown as RequestContext;
  // History: 1 high/s for 60 s, both slots busy, each answer held 1 s. μ = 2/s; the rate before the surge is 1/s.
  for (let s = 0; s < 60; s++) {
    clock.set(s * 1000);
    queue.arrive(ctx('high', 60_000), false);
    const leases = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
    clock.set(s * 1000 + 1000);
    for (const l of leases) l.release({ kind: 'ok' });
  }
  // The surge: 4 high/s from t = 60 s, twice what the fleet serves, for good. A low request with 20 s to live waits.
  let held = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
  const lowCtx = ctx('low', 20_000);
  queue.arrive(lowCtx, false);
  let outcome: { code: string; atMs: number } | undefined;
  queue.lease(lowCtx, model, none).then(
    () => assert.fail('the low request was served while higher ones kept arriving'),
    (e: SpillwayError) => { outcome = { code: e.code, atMs: clock.now() - 60_000 }; },
  );
  for (let step = 1; step <= 80 && outcome === undefined; step++) {
    clock.advance(250);
    const high = ctx('high', 60_000);
    queue.arrive(high, false);
    queue.lease(high, model, none).then((l) => held.push(l), () => {}); // closing the queue refuses the rest
    if (step % 4 === 0) {
      const done = held;
      held = [];
      for (const l of done) l.release({ kind: 'ok' });
    }
    t.mock.timers.tick(250); // the queue's re-check runs every 200 ms
    await new Promise((r) => setImmediate(r));
  }
  // Ahead of it: 2 more highs every second. With the surge expected to last as long again as it has past its 2 s
  // allowance, the expected wait is (T − 2) + (2T + 2(T − 2)) / (2 − 1) s; with 1 s of service and the 1.25 margin,
  // hopeless once T > 4.8 s. (Expecting the surge to end at once would keep it waiting until T > 7.4 s.)
  assert.equal(outcome?.code, 'deadline_unmeetable');
  assert.ok(outcome.atMs > 4_000 && outcome.atMs <= 6_000, `dropped ${outcome.atMs} ms into the surge`);
  queue.close();
});
