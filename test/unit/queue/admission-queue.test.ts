import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { resolveConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/types.ts';
import { Balancer } from '../../../src/balance/balancer.ts';
import { AdmissionQueue, type KeepAlive } from '../../../src/queue/admission-queue.ts';
import type { Lease } from '../../../src/balance/balancer.ts';
import { Metrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/observe/log.ts';
import type { SpillwayError } from '../../../src/errors.ts';
import type { RequestContext } from '../../../src/server/context.ts';

/** A queue in front of one upstream with `cap` slots, on a fake clock. */
function oneUpstreamQueue(
  cap: number,
  queueConfig: Record<string, unknown> = {},
  keepAlive: KeepAlive = () => () => {},
  more: Record<string, unknown> = {},
) {
  const config = resolveConfig(
    {
      upstreams: [{ name: 'a', url: 'http://a.invalid/v1', max_concurrency: cap }],
      models: { chat: { routes: [{ upstream: 'a' }] } },
      queue: queueConfig,
      ...more,
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0.5 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  return { queue, clock, metrics, model, none: new Set<string>() };
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

function ctxOf(
  clock: FakeClock,
  priority: 'high' | 'normal' | 'low',
  deadlineMs: number,
  /** `x-stainless-retry-count`, as an official SDK sends it (0 on its first try); absent: a client that never retries. */
  retryCount?: number,
): RequestContext {
  return {
    priority,
    tenant: '',
    id: 'test',
    deadlineAt: clock.now() + deadlineMs,
    call: undefined,
    clientGone: new AbortController().signal,
    req: { headers: retryCount === undefined ? {} : { 'x-stainless-retry-count': String(retryCount) } },
  } as unknown as RequestContext;
}

/** Both slots busy for a second, then released: the queue learns one slot frees every 500 ms, answers take 1 s. */
function learnPace(
  queue: AdmissionQueue,
  clock: FakeClock,
  model: NonNullable<Config['models'][string]>,
  none: Set<string>,
) {
  const leases = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
  clock.advance(1000);
  for (const l of leases) l.release({ kind: 'ok' });
}

test('low is served when the backlog allows, behind high work that arrived before it', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2);
  learnPace(queue, clock, model, none);
  let held = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
  const served: string[] = [];
  // 10 high requests with 6.3 s to live wait (one slot per 500 ms, 1 s answers: the last is done in 6 s), then a
  // low one with 10 s to live: done in 6.5 s, it fits behind them.
  const waits: Promise<Lease>[] = [];
  for (let i = 0; i < 10; i++)
    waits.push(queue.lease(ctxOf(clock, 'high', 6_300), model, none).then((l) => (served.push('high'), l)));
  waits.push(queue.lease(ctxOf(clock, 'low', 10_000), model, none).then((l) => (served.push('low'), l)));
  // A low request with 6.6 s to live would be done in 6.5 s, inside its deadline but not with its class's headroom
  // of 2.5% of the work ahead (0.14 s): refused at once, with a Retry-After.
  await assert.rejects(
    queue.lease(ctxOf(clock, 'low', 6_600), model, none),
    (e: SpillwayError) => e.code === 'deadline_unmeetable' && (e.retryAfterS ?? 0) >= 1,
  );
  while (waits.length > 0) {
    clock.advance(500);
    t.mock.timers.tick(500);
    for (const l of held.splice(0)) l.release({ kind: 'ok' });
    held = await Promise.all(waits.splice(0, 2));
  }
  assert.deepEqual(served, [...Array<string>(10).fill('high'), 'low']);
  queue.close();
});

test('a waiting request is dropped as soon as the drain rate makes it hopeless, long before its deadline', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2, { recheck_margin: 1.25 });
  learnPace(queue, clock, model, none);
  const held = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
  let outcome: { code: string; atMs: number } | undefined;
  const start = clock.now();
  // Fits at the door: 1 ahead of it, one slot per 500 ms, 1 s of service: done in 2 s of its 20.
  queue.lease(ctxOf(clock, 'normal', 20_000), model, none).catch(() => {});
  queue.lease(ctxOf(clock, 'normal', 20_000), model, none).then(
    () => assert.fail('served although no answer ever finished'),
    (e: SpillwayError) => {
      outcome = { code: e.code, atMs: clock.now() - start };
    },
  );
  // Now answers take ever longer (the upstream slows down): held leases never end; the service time the queue
  // knows grows with the age of the oldest held lease only when one completes, so complete one slow answer.
  clock.advance(12_000);
  held[0]?.release({ kind: 'ok' }); // a 13 s answer: one slot per ~3.5 s now
  for (let step = 0; step < 20 && outcome === undefined; step++) {
    clock.advance(200);
    t.mock.timers.tick(200);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(outcome?.code, 'deadline_unmeetable');
  assert.ok(outcome.atMs < 14_000, `dropped ${outcome.atMs} ms in, before its 20 s deadline`);
  held[1]?.release({ kind: 'ok' });
  queue.close();
});

test('pushback comes back to its place without being tested at the door again', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2);
  learnPace(queue, clock, model, none);
  const held = queue.acquireNow(model, none);
  queue.acquireNow(model, none);
  const pushedBack = ctxOf(clock, 'normal', 10_000); // it arrived first, and an upstream answered it "busy"
  clock.advance(100);
  for (let i = 0; i < 30; i++) queue.lease(ctxOf(clock, 'normal', 10_000), model, none).catch(() => {});
  // At one slot per 500 ms the door lets in 17 of them (done in 9.5 s, inside 10 s with 5% of the work ahead as headroom): a new
  // request with 10 s left is refused; the one pushed back is not.
  await assert.rejects(
    queue.lease(ctxOf(clock, 'normal', 10_000), model, none),
    (e: SpillwayError) => e.code === 'deadline_unmeetable',
  );
  const back = queue.lease(pushedBack, model, none, 'pushback');
  held.release({ kind: 'ok' });
  const lease = await back;
  assert.equal(lease.upstream.name, 'a');
  assert.equal(queue.depth, 17, 'the 17 the door let in still wait: its earlier deadline put it first');
  queue.close();
});

test('a request the door let in that asks again as new (its account full fleet-wide) keeps its place, untested', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2);
  learnPace(queue, clock, model, none);
  const held = queue.acquireNow(model, none);
  queue.acquireNow(model, none);
  const first = ctxOf(clock, 'normal', 9_950); // due 50 ms before those that come after it
  const granted = queue.lease(first, model, none);
  clock.advance(100);
  for (let i = 0; i < 30; i++) queue.lease(ctxOf(clock, 'normal', 9_900), model, none).catch(() => {});
  held.release({ kind: 'cancelled' }); // frees the slot without teaching the queue a pace
  // The slot is handed back unused, as when the shared state says another instance holds the account's slots.
  (await granted).rest(100);
  // Meanwhile a newcomer takes the room it left, and the next one is refused: the line is full again.
  queue.lease(ctxOf(clock, 'normal', 9_900), model, none).catch(() => {});
  await assert.rejects(
    queue.lease(ctxOf(clock, 'normal', 9_900), model, none),
    (e: SpillwayError) => e.code === 'deadline_unmeetable',
  );
  // Tested as new it would be refused too; it was let in, so it comes back in its place.
  const depth = queue.depth;
  const back = queue.lease(first, model, none);
  assert.equal(queue.depth, depth + 1, 'it waits again');
  clock.advance(200);
  t.mock.timers.tick(200);
  const lease = await back;
  assert.equal(lease.upstream.name, 'a');
  assert.equal(queue.depth, depth, 'served first: its deadline is the earliest');
  queue.close();
});

test('a client back after our Retry-After is not held to the headroom its class keeps for others', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2);
  learnPace(queue, clock, model, none);
  queue.acquireNow(model, none);
  queue.acquireNow(model, none);
  // 16 ahead: done in 9.5 s. A low request with 9.7 s to live keeps 0.21 s of headroom (2.5% of the work ahead):
  // refused; the same request sent again by the SDK (x-stainless-retry-count: 1) is admitted.
  for (let i = 0; i < 16; i++) queue.lease(ctxOf(clock, 'high', 9_600), model, none).catch(() => {});
  clock.advance(1);
  await assert.rejects(queue.lease(ctxOf(clock, 'low', 9_700), model, none));
  const again = queue.lease(ctxOf(clock, 'low', 9_700, 1), model, none);
  assert.equal(queue.depth, 17);
  queue.close();
  await assert.rejects(again, (e: SpillwayError) => e.code === 'draining');
});

test('a refused SDK client’s place is kept: newcomers of its class leave it clear until it is back, higher ones do not', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  // 16 ahead: done in 9.5 s. A low request with 9.7 s to live is refused (2.5% headroom: 0.21 s; an SDK's second try
  // keeps none, and is refused with 1 s). A later low
  // newcomer with 10 s to live fits behind the same work with its headroom (9.71 s) — but not when it also leaves
  // clear the refused client's place (one more answer, 0.5 s), which it does only when that client will be back.
  const rows: { refused: number | undefined; newcomer: 'low' | 'normal'; admitted: boolean }[] = [
    { refused: undefined, newcomer: 'low', admitted: true },
    { refused: 0, newcomer: 'low', admitted: false },
    { refused: 1, newcomer: 'low', admitted: false },
    { refused: 2, newcomer: 'low', admitted: true },
    { refused: 0, newcomer: 'normal', admitted: true },
  ];
  for (const { refused, newcomer, admitted } of rows) {
    const { queue, model, none, clock, metrics } = oneUpstreamQueue(2);
    learnPace(queue, clock, model, none);
    queue.acquireNow(model, none);
    queue.acquireNow(model, none);
    for (let i = 0; i < 16; i++) queue.lease(ctxOf(clock, 'high', 9_600), model, none).catch(() => {});
    clock.advance(1);
    // A client already on a retry keeps no headroom: it is refused only where it cannot finish at all.
    const refusedDeadline = (refused ?? 0) > 0 ? 1_000 : 9_700;
    await assert.rejects(queue.lease(ctxOf(clock, 'low', refusedDeadline, refused), model, none));
    const placesKept = async () =>
      Object.fromEntries(
        (await metrics.placesKept.get()).values.map((v) => [`${v.labels.priority} ${v.labels.result}`, v.value]),
      );
    const later = queue.lease(ctxOf(clock, newcomer, 10_000), model, none);
    const label = `refused with retry count ${refused}, then a ${newcomer} newcomer`;
    if (admitted) assert.equal(queue.depth, 17, label);
    else await assert.rejects(later, (e: SpillwayError) => e.code === 'deadline_unmeetable', label);
    if (refused === 0) {
      // The client is back at our Retry-After: admitted, in the place kept for it, displacing nobody.
      const back = queue.lease(ctxOf(clock, 'low', 9_700, 1), model, none);
      assert.equal(queue.depth, admitted ? 18 : 17, label);
      assert.deepEqual(await placesKept(), { 'low kept': 1, 'low claimed': 1 }, label);
      queue.close();
      await assert.rejects(back, (e: SpillwayError) => e.code === 'draining');
    } else {
      assert.deepEqual(await placesKept(), refused === 1 ? { 'low kept': 1 } : {}, label);
      queue.close();
    }
    await later.catch(() => {});
  }
});

test('the queue asks the relay to keep a client alive for exactly as long as it waits, at queue.stream_keepalive', async () => {
  const log: string[] = [];
  const keepAlive: KeepAlive = (ctx, everyMs) => {
    log.push(`start ${ctx.id} every ${everyMs}`);
    return () => log.push(`stop ${ctx.id}`);
  };
  const { queue, model, none, clock } = oneUpstreamQueue(1, { stream_keepalive: '3s' }, keepAlive);
  const named = (id: string, c: { signal: AbortSignal } = new AbortController()) => ({
    ...ctxOf(clock, 'normal', 60_000),
    id,
    clientGone: c.signal,
  });
  const first = await queue.lease(named('served-at-once'), model, none);
  const granted = queue.lease(named('granted-later'), model, none);
  const leaving = new AbortController();
  const gone = queue.lease(named('client-left', leaving), model, none).catch((e: SpillwayError) => e.code);
  assert.deepEqual(
    log,
    ['start granted-later every 3000', 'start client-left every 3000'],
    'only a request that waits is kept alive',
  );
  leaving.abort();
  assert.equal(await gone, 'queue_timeout');
  first.release({ kind: 'ok' });
  (await granted).release({ kind: 'ok' });
  assert.deepEqual(log.slice(2), ['stop client-left', 'stop granted-later']);
  queue.close();
});

test('a retry waits for its only route to be probed again after an ejection; a newcomer is refused at once', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2, {}, undefined, { health: { failure_threshold: 1 } });
  t.after(() => queue.close());
  queue.acquireNow(model, none).release({ kind: 'reset', afterFirstByte: true, detail: 'ECONNRESET' }); // out for 1 s
  await assert.rejects(
    queue.lease(ctxOf(clock, 'normal', 10_000), model, none),
    (e: SpillwayError) => e.code === 'no_capacity' && e.retryAfterS === 1,
    'a newcomer is told at once when to come back',
  );
  await assert.rejects(
    queue.lease(ctxOf(clock, 'high', 900), model, none, 'retry'),
    (e: SpillwayError) => e.code === 'no_capacity',
    'a retry whose deadline ends before the probe is not kept waiting for nothing',
  );
  let got: Lease | undefined;
  let refused: unknown;
  queue.lease(ctxOf(clock, 'normal', 10_000), model, none, 'retry').then(
    (l) => (got = l),
    (e: unknown) => (refused = e),
  );
  const settle = () => new Promise((r) => setImmediate(r));
  clock.advance(500);
  t.mock.timers.tick(500);
  await settle();
  assert.equal(refused, undefined, 'an admitted retry waits for the probe instead of failing');
  assert.equal(got, undefined, 'still out of rotation');
  clock.advance(600);
  t.mock.timers.tick(600);
  await settle();
  const probe = got as Lease | undefined;
  assert.ok(probe !== undefined, 'the retry is the probe once the time out is over');
  probe.release({ kind: 'ok' });
});

test('a waiting request with less time left than the slow upstream takes lets the next one have its slot, and takes the fast one', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const config = resolveConfig(
    {
      upstreams: ['fast', 'slow'].map((n) => ({ name: n, url: `http://${n}.invalid/v1`, max_concurrency: 1 })),
      models: { chat: { routes: [{ upstream: 'fast' }, { upstream: 'slow' }] } },
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0.5 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive: () => () => {} });
  const model = config.models.chat as NonNullable<Config['models'][string]>;
  const on = (name: string) => queue.acquireNow(model, new Set([name === 'fast' ? 'slow' : 'fast']));
  // Answers take 300 ms on "fast" and 600 ms on "slow".
  const learn = [on('fast'), on('slow')];
  clock.advance(300);
  learn[0]?.release({ kind: 'ok' });
  clock.advance(300);
  learn[1]?.release({ kind: 'ok' });
  const fast = on('fast');
  const slow = on('slow');
  const served: [string, string][] = [];
  const urgent = queue.lease(ctxOf(clock, 'normal', 700), model, new Set());
  const later = queue.lease(ctxOf(clock, 'normal', 5_000), model, new Set());
  void urgent.then((l) => served.push(['urgent', l.upstream.name]));
  void later.then((l) => served.push(['later', l.upstream.name]));
  clock.advance(150); // the urgent one has 550 ms left: less than "slow" takes
  slow.release({ kind: 'ok' });
  await later;
  assert.deepEqual(served, [['later', 'slow']]);
  clock.advance(50);
  fast.release({ kind: 'ok' });
  await urgent;
  assert.deepEqual(served, [
    ['later', 'slow'],
    ['urgent', 'fast'],
  ]);
  queue.close();
});

test('a continuation is judged by the tokens it has left to produce, not by the whole answer', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const { queue, model, none, clock } = oneUpstreamQueue(2);
  const limited = (maxTokens: number, deadlineMs = 60_000): RequestContext =>
    ({ ...ctxOf(clock, 'normal', deadlineMs), call: { body: { max_tokens: maxTokens } } }) as unknown as RequestContext;
  // The queue learns that answers hold their slot 10 ms per token of their limit.
  for (let i = 0; i < 40; i++) {
    const tokens = i % 2 === 0 ? 10 : 50;
    const lease = queue.acquireNow(model, none, limited(tokens));
    clock.advance(tokens * 10);
    lease.release({ kind: 'ok' });
  }
  queue.acquireNow(model, none);
  queue.acquireNow(model, none);
  // A stream of 50 tokens cut with 450 ms left: the whole answer (500 ms) no longer fits, its last 10 tokens do.
  const cut = limited(50, 450);
  await assert.rejects(queue.lease(cut, model, none, 'retry'), (e: SpillwayError) => e.code === 'deadline_unmeetable');
  const rest = queue.lease(cut, model, none, 'retry', 10);
  assert.equal(queue.depth, 1, 'the continuation waits for the next slot');
  queue.close();
  await assert.rejects(rest, (e: SpillwayError) => e.code === 'draining');
});

test('a wait gives up on the service time measured when its time comes, not on the one measured at admission', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const config = resolveConfig(
    {
      upstreams: [
        { name: 'a', url: 'http://a.invalid/v1', max_concurrency: 1 },
        { name: 'b', url: 'http://b.invalid/v1', max_concurrency: 8 },
      ],
      models: { chat: { routes: [{ upstream: 'a' }] }, other: { routes: [{ upstream: 'b' }] } },
    },
    'test',
    {},
  );
  const clock = new FakeClock(0);
  const metrics = new Metrics();
  const balancer = new Balancer(config, { clock, metrics, log: createLogger('silent'), random: () => 0.5 });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive: () => () => {} });
  t.after(() => queue.close());
  const chat = config.models.chat as NonNullable<Config['models'][string]>;
  const other = config.models.other as NonNullable<Config['models'][string]>;
  const none = new Set<string>();
  const settle = () => new Promise((r) => setImmediate(r));
  const step = async (ms: number) => {
    clock.advance(ms);
    t.mock.timers.tick(ms);
    await settle();
  };
  // Answers took 3 s (an upstream queueing them), and chat's only slot is held.
  const slow = queue.acquireNow(other, none);
  const held = queue.acquireNow(chat, none);
  await step(3_000);
  slow.release({ kind: 'ok' });
  // Due at 13 s: on a 3 s service time it must start by 10 s.
  let outcome: string | undefined;
  queue.lease(ctxOf(clock, 'normal', 10_000), chat, none).then(
    (l) => {
      outcome = 'served';
      l.release({ kind: 'ok' });
    },
    (e: SpillwayError) => (outcome = e.code),
  );
  // Answers now take 100 ms; by 10 s the 3 s one has left the measured window.
  for (let at = 3_000; at < 10_500; at += 250) {
    const quick = queue.acquireNow(other, none);
    await step(100);
    quick.release({ kind: 'ok' });
    await step(150);
  }
  assert.equal(outcome, undefined, 'past the last start the admission-time service time gave, still waiting');
  held.release({ kind: 'ok' });
  await settle();
  assert.equal(outcome, 'served');
});

/**
 * Both slots held; 17 low requests due in 10 s wait in front of one high request that comes 100 ms later, due 100 ms
 * after them. Returns the class served first when a slot frees.
 */
async function firstServedAfterLows(
  queue: AdmissionQueue,
  clock: FakeClock,
  model: NonNullable<Config['models'][string]>,
  none: Set<string>,
): Promise<string> {
  const held = [queue.acquireNow(model, none), queue.acquireNow(model, none)];
  // Held for the service time the queue expects, so that releasing one tells it nothing new.
  clock.advance(900);
  const served: string[] = [];
  for (let i = 0; i < 17; i++)
    queue.lease(ctxOf(clock, 'low', 10_000), model, none).then(
      (l) => (served.push('low'), l.release({ kind: 'ok' })),
      () => {},
    );
  clock.advance(100);
  queue.lease(ctxOf(clock, 'high', 10_000), model, none).then(
    (l) => (served.push('high'), l.release({ kind: 'ok' })),
    () => {},
  );
  (held[0] as Lease).release({ kind: 'ok' });
  await new Promise((r) => setImmediate(r));
  queue.close();
  return served[0] as string;
}

test('after attempts that failed and were tried again, high starts ahead of the lower work just before it; on a clean fleet it waits its turn', async () => {
  // A slot frees every 500 ms and answers take 1 s; the last of 17 lows then has no slack beyond its reserve, so
  // high overtakes nobody by priority alone.
  const clean = oneUpstreamQueue(2);
  learnPace(clean.queue, clean.clock, clean.model, clean.none);
  assert.equal(await firstServedAfterLows(clean.queue, clean.clock, clean.model, clean.none), 'low');

  const faulty = oneUpstreamQueue(2);
  const { queue, clock, model, none } = faulty;
  learnPace(queue, clock, model, none);
  // One request's first attempt fails after 800 ms; its retry takes the expected second: it held 800 ms more.
  const ctx = ctxOf(clock, 'normal', 30_000);
  const first = queue.acquireNow(model, none, ctx);
  clock.advance(800);
  first.release({ kind: 'server_error', status: 500 });
  const retry = queue.acquireNow(model, none, ctx);
  clock.advance(1000);
  retry.release({ kind: 'ok' });
  // High now stands 800 ms earlier than its deadline: ahead of the lows due 100 ms before it.
  assert.equal(await firstServedAfterLows(queue, clock, model, none), 'high');
});
