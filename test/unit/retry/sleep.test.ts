import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { sleep } from '../../../src/retry/sleep.ts';

test('a wait longer than a timer can hold (or Infinity) waits, instead of firing at once as Node would', async () => {
  for (const ms of [2 ** 31, 1e15, Infinity]) {
    const stop = new AbortController();
    let done = false;
    const waiting = sleep(ms, stop.signal).then(() => (done = true));
    // Node fires an overflowing timer after 1 ms: well past that, it must still be waiting.
    await delay(20);
    assert.equal(done, false, `${ms} ms`);
    stop.abort();
    await waiting;
    assert.equal(done, true, `${ms} ms: ends when the client leaves`);
  }
});
