import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Hedging, hedgeVerdict, type HedgeVerdict } from '../../../src/retry/hedging.ts';
import { RetryBudgets } from '../../../src/retry/retry-budgets.ts';
import type { RequestContext } from '../../../src/server/context.ts';

/** Two upstreams for one hedged model, and a retry budget of exactly one retry in the window. */
function setup() {
  const config = resolveConfig(
    {
      upstreams: [
        { name: 'a', url: 'http://a.invalid/v1' },
        { name: 'b', url: 'http://b.invalid/v1' },
      ],
      models: {
        chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }], hedge: { min_delay: '100ms', max_delay: '100ms' } },
      },
      retry: { budget_ratio: 0, budget_min_per_second: 0.1, budget_window: '10s' },
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive: () => () => {} });
  const budgets = new RetryBudgets(config.retry, clock);
  const hedging = new Hedging(config.models, {
    queue,
    budgets,
    metrics,
    cooldownDefaultMs: config.retry.cooldownDefaultMs,
  });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  return { clock, queue, budgets, hedging, model, metrics, balancer };
}

test('a prepared hedge spends the retry budget only when it is sent: table on a fake clock', () => {
  const rows: {
    name: string;
    clientGone: boolean;
    firstSettled: boolean;
    budgetLeft: boolean;
    want: HedgeVerdict;
    leftAfter: boolean;
  }[] = [
    {
      name: 'the first attempt still waits: sent, one retry spent',
      clientGone: false,
      firstSettled: false,
      budgetLeft: true,
      want: 'send',
      leftAfter: false,
    },
    {
      name: 'the first attempt settled while the hedge got its slot: not needed',
      clientGone: false,
      firstSettled: true,
      budgetLeft: true,
      want: 'first_settled',
      leftAfter: true,
    },
    {
      name: 'the client left meanwhile',
      clientGone: true,
      firstSettled: false,
      budgetLeft: true,
      want: 'client_gone',
      leftAfter: true,
    },
    { name: 'both', clientGone: true, firstSettled: true, budgetLeft: true, want: 'client_gone', leftAfter: true },
    {
      name: 'another request spent the budget meanwhile',
      clientGone: false,
      firstSettled: false,
      budgetLeft: false,
      want: 'no_budget',
      leftAfter: false,
    },
  ];
  for (const r of rows) {
    const { budgets, clock } = setup();
    clock.set(1_000);
    if (!r.budgetLeft) assert.equal(budgets.tryRetry('a'), true);
    const verdict = hedgeVerdict({
      clientGone: r.clientGone,
      firstSettled: r.firstSettled,
      takeBudget: () => budgets.tryRetry('a'),
    });
    assert.equal(verdict, r.want, r.name);
    assert.equal(budgets.canRetry('a'), r.leftAfter, `${r.name}: budget left`);
  }
});

test('a hedge no longer needed once its slot is had gives the slot back unused and keeps the budget; a sent one spends it', async () => {
  const { queue, budgets, hedging, model, metrics, balancer } = setup();
  const ctx = { id: 'r1', clientGone: new AbortController().signal } as unknown as RequestContext;
  const first = queue.acquireNow(model, new Set());
  const offer = hedging.offer(ctx, {
    served: model,
    first,
    avoid: new Set(),
    leaseId: 'r1:1:hedge',
    tokens: 0,
    launch: (lease) => ({ lease, body: '{}', messages: false }),
  });
  assert.equal(offer?.delayMs, 100, 'max_delay until 20 samples are known');
  const unneeded = await offer.prepare();
  assert.notEqual(unneeded, undefined);
  assert.notEqual(unneeded?.lease.upstream.name, first.upstream.name, 'a hedge goes to another upstream');
  assert.equal(queue.heldLeases, 2);
  assert.equal(unneeded?.send(true), false, 'the first attempt settled meanwhile');
  assert.equal(queue.heldLeases, 1, 'the hedge slot is back');
  assert.equal(budgets.canRetry(first.upstream.name), true, 'no budget spent');
  const sent = await offer.prepare();
  assert.equal(sent?.send(false), true);
  assert.equal(budgets.canRetry(first.upstream.name), false, 'the one retry of the budget is spent');
  assert.match(await metrics.registry.metrics(), /spillway_hedges_total\{model="chat"\} 1\n/);
  sent?.lease.release({ kind: 'cancelled' });
  first.release({ kind: 'ok' });
  assert.deepEqual(
    balancer.snapshot().map((u) => u.inFlight),
    [0, 0],
  );
  queue.close();
});

test('a prompt longer than those its first tokens were learned on waits as many times longer for its hedge', () => {
  const { queue, hedging, model } = setup();
  const ctx = { id: 'r1', clientGone: new AbortController().signal } as unknown as RequestContext;
  const first = queue.acquireNow(model, new Set());
  const offer = (sizeFactor: number | undefined) =>
    hedging.offer(ctx, {
      served: model,
      first,
      avoid: new Set(),
      leaseId: 'r1:1:hedge',
      tokens: 0,
      ...(sizeFactor === undefined ? {} : { sizeFactor }),
      launch: (lease) => ({ lease, body: '{}', messages: false }),
    })?.delayMs;
  assert.equal(offer(undefined), 100);
  assert.equal(offer(1), 100);
  assert.equal(offer(12.5), 1_250, "sent at the short prompts' delay, it would only prefill the long one twice");
  first.release({ kind: 'ok' });
});
