import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotPool } from '../../../src/mock/slots.ts';

const noop = (): void => {};

test('grants up to the slot count, queues up to the queue size, then says full', () => {
  const pool = new SlotPool(2, 1);
  assert.equal(pool.acquire(noop).kind, 'granted');
  assert.equal(pool.acquire(noop).kind, 'granted');
  assert.equal(pool.acquire(noop).kind, 'queued');
  assert.equal(pool.acquire(noop).kind, 'full');
  assert.equal(pool.inUse, 2);
  assert.equal(pool.queued, 1);
});

test('a released slot passes to the oldest waiter, in arrival order', () => {
  const pool = new SlotPool(1, 3);
  const order: string[] = [];
  pool.acquire(noop);
  pool.acquire(() => order.push('a'));
  pool.acquire(() => order.push('b'));
  pool.release();
  assert.deepEqual(order, ['a']);
  assert.equal(pool.inUse, 1);
  pool.release();
  assert.deepEqual(order, ['a', 'b']);
  pool.release();
  assert.equal(pool.inUse, 0);
});

test('a newcomer cannot jump the queue while others wait', () => {
  const pool = new SlotPool(1, 2);
  pool.acquire(noop);
  pool.acquire(noop);
  assert.equal(pool.acquire(noop).kind, 'queued');
});

test('a cancelled waiter is skipped and frees its queue place', () => {
  const pool = new SlotPool(1, 1);
  const granted: string[] = [];
  pool.acquire(noop);
  const a = pool.acquire(() => granted.push('a'));
  assert.equal(a.kind, 'queued');
  if (a.kind === 'queued') {
    a.cancel();
    a.cancel(); // twice is harmless
  }
  assert.equal(pool.queued, 0);
  assert.equal(pool.acquire(() => granted.push('b')).kind, 'queued');
  pool.release();
  assert.deepEqual(granted, ['b']);
});

test('zero slots refuse or queue everything; infinite slots never queue', () => {
  assert.equal(new SlotPool(0, 0).acquire(noop).kind, 'full');
  assert.equal(new SlotPool(0, 1).acquire(noop).kind, 'queued');
  const inf = new SlotPool(Infinity, 0);
  for (let i = 0; i < 1000; i++) assert.equal(inf.acquire(noop).kind, 'granted');
});
