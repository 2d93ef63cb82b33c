import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Priority } from '../../../src/priority.ts';
import { Scheduler, type Entry } from '../../../src/queue/scheduler.ts';

const e = (
  priority: Priority,
  tenant: string,
  deadlineAt: number,
  item = `${priority}-${tenant}-${deadlineAt}`,
): Entry<string> => ({ priority, tenant, deadlineAt, item });
/** One slot frees every 100 ms, an answer takes 1 s: the entry at position k finishes at (k + 1) × 100 + 1000. */
const pace = { now: 0, slotMs: 100, serviceMs: 1000 };
const order = (s: Scheduler<string>, p: typeof pace | undefined = pace) => [...s.inOrder(p)].map((x) => x.item);

test('with slack to spare, higher classes go first; the deadline order stands where it has none', () => {
  const s = new Scheduler<string>(100);
  for (const x of [e('low', 'a', 1_100), e('normal', 'a', 50_000), e('normal', 'a', 10_000), e('high', 'a', 60_000)])
    s.offer(x);
  assert.deepEqual(
    s.byDeadline.map((x) => x.item),
    ['low-a-1100', 'normal-a-10000', 'normal-a-50000', 'high-a-60000'],
  );
  // The low request has no slot of slack: nobody may overtake it. Behind it everyone has slack.
  assert.deepEqual(order(s), ['low-a-1100', 'normal-a-10000', 'normal-a-50000', 'high-a-60000']);
  s.served(s.byDeadline[0] as Entry<string>);
  assert.deepEqual(order(s), ['high-a-60000', 'normal-a-10000', 'normal-a-50000']);
  assert.deepEqual(
    order(s, undefined),
    ['high-a-60000', 'normal-a-10000', 'normal-a-50000'],
    'no pace known: strict priority',
  );
});

test('tenants of one class take turns, so none starves another', () => {
  const s = new Scheduler<string>(100);
  for (let i = 0; i < 4; i++) s.offer(e('normal', 'big', 10_000 + i));
  s.offer(e('normal', 'small', 20_000));
  assert.deepEqual(order(s), [
    'normal-big-10000',
    'normal-small-20000',
    'normal-big-10001',
    'normal-big-10002',
    'normal-big-10003',
  ]);
});

test('serving passes the turn to the next tenant', () => {
  const s = new Scheduler<string>(100);
  const a1 = e('normal', 'a', 10_001);
  s.offer(a1);
  s.offer(e('normal', 'a', 10_002));
  s.offer(e('normal', 'b', 10_003));
  s.offer(e('normal', 'c', 10_004));
  s.served(a1);
  assert.deepEqual(order(s), ['normal-b-10003', 'normal-c-10004', 'normal-a-10002']);
  const [b] = s.inOrder(pace);
  s.served(b as Entry<string>);
  assert.deepEqual(order(s), ['normal-c-10004', 'normal-a-10002']);
});

test('a full queue refuses a newcomer unless it outranks someone, who is then displaced', () => {
  const s = new Scheduler<string>(3);
  s.offer(e('low', 'a', 10));
  s.offer(e('low', 'b', 30));
  s.offer(e('normal', 'a', 20));
  assert.deepEqual(s.offer(e('low', 'c', 5)), { ok: false }, 'an equal class does not displace');
  const r = s.offer(e('high', 'c', 40));
  assert.equal(r.ok && r.displaced?.item, 'low-b-30', 'the least urgent of the lowest class');
  assert.equal(s.size, 3);
  s.offer(e('high', 'd', 41));
  assert.equal(s.offer(e('high', 'e', 42)).ok, true);
  assert.deepEqual(s.offer(e('normal', 'f', 1)), { ok: false }, 'nothing below normal is left');
});

test('equal deadlines keep their arrival order', () => {
  const s = new Scheduler<string>(100);
  for (const t of ['a', 'b', 'c']) s.offer(e('normal', t, 5_000, t));
  assert.deepEqual(
    s.byDeadline.map((x) => x.item),
    ['a', 'b', 'c'],
  );
});
