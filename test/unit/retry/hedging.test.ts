import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { AdmissionQueue } from '../../../src/queue/admission-queue.ts';
import { Hedging, hedgeScale, hedgeVerdict, type HedgeScale, type HedgeVerdict } from '../../../src/retry/hedging.ts';
import type { Learned } from '../../../src/upstream/adaptive-timeouts.ts';
import type { RequestShape } from '../../../src/upstream/timeout-learner.ts';
import { RetryBudgets } from '../../../src/retry/retry-budgets.ts';
import type { RequestContext } from '../../../src/server/context.ts';

/** Two upstreams for one hedged model, and a retry budget of exactly one retry in the window. */
function setup(hedge: Record<string, unknown> = { min_delay: '100ms', max_delay: '100ms' }) {
  const config = resolveConfig(
    {
      upstreams: [
        { name: 'a', url: 'http://a.invalid/v1' },
        { name: 'b', url: 'http://b.invalid/v1' },
      ],
      models: {
        chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }], hedge },
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
    kind: { stream: true, shape: 'plain' },
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

test("a hedge waits as much longer as its prompt and, not streamed, its allowed answer are longer than its peers'", () => {
  const learned = (over: Partial<Learned>): Learned => ({ firstTokenMs: 100, gapMs: 5, ...over });
  const rows: { name: string; args: Parameters<typeof hedgeScale>[0]; want: HedgeScale }[] = [
    {
      name: 'a stream of a short prompt: as its peers',
      args: { stream: true, promptTokens: 50, maxTokens: 4_000, learned: learned({ promptTokens: 50 }) },
      want: { factor: 1, lengthKnown: true },
    },
    {
      name: 'a stream of a prompt 12.5 x the reference: 12.5 x later (its answer length is no part of a first token)',
      args: { stream: true, promptTokens: 25_000, maxTokens: 4_000, learned: learned({ promptTokens: 50 }) },
      want: { factor: 12.5, lengthKnown: true },
    },
    {
      name: 'not streamed, allowed 600 tokens where answers had 10: 60 x later',
      args: { stream: false, promptTokens: 50, maxTokens: 600, learned: learned({ answerTokens: 10 }) },
      want: { factor: 60, lengthKnown: true },
    },
    {
      name: 'not streamed, allowed fewer tokens than answers usually have: as its peers',
      args: { stream: false, promptTokens: 50, maxTokens: 8, learned: learned({ answerTokens: 10 }) },
      want: { factor: 1, lengthKnown: true },
    },
    {
      name: 'not streamed, answer lengths not (yet) reported by its upstream: its length unknown',
      args: { stream: false, promptTokens: 50, maxTokens: 600, learned: learned({}) },
      want: { factor: 1, lengthKnown: false },
    },
    {
      name: 'not streamed, no max_tokens: its length unknown',
      args: { stream: false, promptTokens: 50, maxTokens: undefined, learned: learned({ answerTokens: 10 }) },
      want: { factor: 1, lengthKnown: false },
    },
  ];
  for (const r of rows) assert.deepEqual(hedgeScale(r.args), r.want, r.name);
});

/** The hedge delay `hedging` offers a first attempt of `model` (on a slot it holds for the question). */
function delayOf(
  s: ReturnType<typeof setup>,
  stream: boolean,
  scale?: HedgeScale,
  shape: RequestShape = 'plain',
): number | undefined {
  const ctx = { id: 'r1', clientGone: new AbortController().signal } as unknown as RequestContext;
  const first = s.queue.acquireNow(s.model, new Set());
  try {
    return s.hedging.offer(ctx, {
      served: s.model,
      first,
      avoid: new Set(),
      leaseId: 'r1:1:hedge',
      tokens: 0,
      kind: { stream, shape },
      ...(scale === undefined ? {} : { scale }),
      launch: (lease) => ({ lease, body: '{}', messages: false }),
    })?.delayMs;
  } finally {
    first.release({ kind: 'ok' });
  }
}

test('the hedge delay: peers of the same kind, scaled; a non-stream answer of unknown length waits max_delay', () => {
  const s = setup();
  // min_delay and max_delay are both 100 ms in this model's config: what moves is the scale.
  assert.equal(delayOf(s, true), 100);
  assert.equal(
    delayOf(s, true, { factor: 12.5, lengthKnown: true }),
    1_250,
    "at its peers' delay a long prompt would only be prefilled twice",
  );
  assert.equal(delayOf(s, false, { factor: 3, lengthKnown: false }), 300);
});

test("whole non-stream answers are no peers of a stream's first token, nor the other way round", () => {
  const s = setup({ min_delay: '10ms', max_delay: '10s' });
  for (let i = 0; i < 20; i++) {
    s.hedging.observe(s.model, { stream: true, shape: 'plain' }, 200);
    s.hedging.observe(s.model, { stream: false, shape: 'plain' }, 5_000);
    s.hedging.observe(s.model, { stream: true, shape: 'structured' }, 9_000);
  }
  assert.equal(delayOf(s, true), 200, "a stream's first token: its peers' p95");
  assert.equal(delayOf(s, false), 5_000, "a whole answer: its peers' p95");
  assert.equal(delayOf(s, true, undefined, 'structured'), 9_000, 'structured output: its own peers (its grammar)');
});
