import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Overrun } from '../../../src/queue/overrun.ts';

/** An Overrun fed `n` answers at 5 s, of which `k` held `overMs` longer than the 1 s expected, the rest `jitter(i)`. */
function fed(n: number, k: number, overMs: number, jitter: (i: number) => number = () => 0): Overrun {
  const o = new Overrun();
  for (let i = 0; i < n; i++) o.add(1000 + (i < k ? overMs : jitter(i)), 1000, 5_000);
  return o;
}

test('the room is what all but one request in 100 held beyond what was expected of it', () => {
  const rows: [what: string, o: Overrun, roomMs: number][] = [
    ['nothing measured yet', new Overrun(), 0],
    ['answers take what was expected of them', fed(1000, 0, 0), 0],
    ['answers faster than expected count as none over', fed(1000, 0, 0, () => -300), 0],
    ['answers up to 10% slower or faster than expected', fed(1000, 0, 0, (i) => (i % 200) - 100), 97],
    ['two attempts in 100 failed after 800 ms and were tried again', fed(1000, 20, 800), 800],
    ['slow answers fewer than one in 100 are not the room', fed(1000, 9, 5000), 0],
  ];
  for (const [what, o, roomMs] of rows) assert.equal(o.roomMs(5_000), roomMs, what);
});

test('the room is read from the last 10 s of answers, and a time that is not a number is not one of them', () => {
  const o = new Overrun();
  for (let i = 0; i < 100; i++) o.add(1800, 1000, 1_000); // a start-up: answers queued in an engine, 800 ms over
  assert.equal(o.roomMs(1_000), 800);
  o.add(NaN, 1000, 2_000);
  o.add(Infinity, 1000, 2_000);
  for (let i = 0; i < 100; i++) o.add(1000, 1000, 6_000);
  assert.equal(o.roomMs(6_000), 800, 'still in the window: 100 of 200 answers');
  assert.equal(o.roomMs(11_001), 0, 'the start-up has left the window; the answers since took what was expected');
  assert.equal(o.roomMs(16_001), 0, 'no answer in the window');
});
