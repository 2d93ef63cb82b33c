import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Priority } from '../../../src/priority.ts';
import { Scheduler, type Entry } from '../../../src/queue/scheduler.ts';

const e = (priority: Priority, tenant: string, deadlineAt: number): Entry<string> => ({
  priority,
  tenant,
  deadlineAt,
  item: `${priority}-${tenant}-${deadlineAt}`,
});

test('the background class is served after every interactive class and never counts ahead of an interactive request', () => {
  const s = new Scheduler<string>(10);
  for (const x of [
    e('background', 'a', 1),
    e('low', 'a', 5),
    e('background', 'b', 2),
    e('high', 'a', 9),
    e('normal', 'a', 3),
  ])
    s.offer(x);
  assert.deepEqual(
    [...s.inOrder()].map((x) => x.item),
    ['high-a-9', 'normal-a-3', 'low-a-5', 'background-a-1', 'background-b-2'],
  );
  assert.deepEqual(
    s.byDeadline.map((x) => x.item),
    ['normal-a-3', 'low-a-5', 'high-a-9'],
    'background entries stand in no interactive position',
  );
});

test('a full queue displaces background entries before any interactive one', () => {
  const s = new Scheduler<string>(2);
  s.offer(e('low', 'a', 1));
  s.offer(e('background', 'a', 1));
  const r = s.offer(e('low', 'b', 2));
  assert.equal(r.ok && r.displaced?.priority, 'background');
  assert.equal(s.offer(e('background', 'c', 1)).ok, false, 'a background newcomer displaces nobody');
});
