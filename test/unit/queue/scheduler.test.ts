import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type Entry, type Priority } from '../../../src/queue/scheduler.ts';

const e = (priority: Priority, tenant: string, deadlineAt: number, item = `${priority}-${tenant}-${deadlineAt}`): Entry<string> => ({ priority, tenant, deadlineAt, item });
const order = (s: Scheduler<string>) => [...s.inOrder()].map((x) => x.item);

test('strict priority between classes, earliest deadline first inside a tenant', () => {
  const s = new Scheduler<string>(100);
  for (const x of [e('low', 'a', 1), e('normal', 'a', 50), e('normal', 'a', 10), e('high', 'a', 99)]) s.offer(x);
  assert.deepEqual(order(s), ['high-a-99', 'normal-a-10', 'normal-a-50', 'low-a-1']);
});

test('tenants of one class take turns, so none starves another', () => {
  const s = new Scheduler<string>(100);
  for (let i = 0; i < 4; i++) s.offer(e('normal', 'big', i));
  s.offer(e('normal', 'small', 100));
  assert.deepEqual(order(s), ['normal-big-0', 'normal-small-100', 'normal-big-1', 'normal-big-2', 'normal-big-3']);
});

test('serving passes the turn to the next tenant', () => {
  const s = new Scheduler<string>(100);
  const a1 = e('normal', 'a', 1);
  s.offer(a1);
  s.offer(e('normal', 'a', 2));
  s.offer(e('normal', 'b', 3));
  s.offer(e('normal', 'c', 4));
  s.served(a1);
  assert.deepEqual(order(s), ['normal-b-3', 'normal-c-4', 'normal-a-2']);
  const [b] = s.inOrder();
  s.served(b as Entry<string>);
  assert.deepEqual(order(s), ['normal-c-4', 'normal-a-2']);
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

test('aheadOf counts the newcomer’s class and those above it', () => {
  const s = new Scheduler<string>(100);
  s.offer(e('high', 'a', 1));
  s.offer(e('normal', 'a', 1));
  s.offer(e('normal', 'b', 1));
  s.offer(e('low', 'a', 1));
  assert.equal(s.aheadOf('high'), 1);
  assert.equal(s.aheadOf('normal'), 3);
  assert.equal(s.aheadOf('low'), 4);
});
