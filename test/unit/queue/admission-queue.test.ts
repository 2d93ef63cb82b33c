import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';

test('every way a lease ends gives its slot back to the queue’s count of held leases (release, rest, twice)', () => {
  const config = resolveConfig({
    upstreams: [{ name: 'a', url: 'http://a.invalid/v1', max_concurrency: 4 }],
    models: { chat: { routes: [{ upstream: 'a' }] } },
  }, 'test', {});
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0.5 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  const none = new Set<string>();
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
