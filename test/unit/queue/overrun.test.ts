import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Overrun } from '../../../src/queue/overrun.ts';

/** An Overrun fed `n` answers of which `k` held `overMs` longer than the 1 s expected of them, the rest `jitter(i)`. */
function fed(n: number, k: number, overMs: number, jitter: (i: number) => number = () => 0): Overrun {
  const o = new Overrun();
  for (let i = 0; i < n; i++) o.add(1000 + (i < k ? overMs : jitter(i)), 1000);
  return o;
}

test('the room is what all but one request in 500 held beyond what was expected of it', () => {
  const rows: [what: string, o: Overrun, roomMs: number][] = [
    ['nothing measured yet', new Overrun(), 0],
    ['answers take what was expected of them', fed(1000, 0, 0), 0],
    ['answers faster than expected count as none over', fed(1000, 0, 0, () => -300), 0],
    ['answers up to 10% slower or faster than expected', fed(1000, 0, 0, (i) => (i % 200) - 100), 99],
    ['one attempt in 100 failed after 800 ms and was tried again', fed(1000, 10, 800), 800],
    ['one slow answer in 1 000 is not the room', fed(1000, 1, 5000), 0],
  ];
  for (const [what, o, roomMs] of rows) assert.equal(o.roomMs(), roomMs, what);
});

test('the room follows the newest 2 048 answers, and a time that is not a number is not one of them', () => {
  const o = fed(100, 100, 800);
  assert.equal(o.roomMs(), 800);
  o.add(NaN, 1000);
  o.add(Infinity, 1000);
  assert.equal(o.roomMs(), 800);
  for (let i = 0; i < 2048; i++) o.add(1000, 1000);
  assert.equal(o.roomMs(), 0, 'the failures have left the window');
});
