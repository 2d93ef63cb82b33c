import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SilentQueue, type StreamStart } from '../../../src/balance/silent-queue.ts';

/**
 * A FIFO engine of `slots` at steady state, as a stream on it sees it: sent with `sentWith` of ours in flight
 * there, it waits for the `sentWith − slots` ahead of it, each slot freeing every run / slots ms.
 */
function onEngine(slots: number, prefillMs: number, generationMs: number, sentWith: number): StreamStart {
  const runMs = prefillMs + generationMs;
  const waitMs = (Math.max(0, sentWith - slots) * runMs) / slots;
  return { sentWith, firstTokenMs: prefillMs + waitMs, heldMs: waitMs + runMs };
}

/** Feeds `samples` in turn and returns every estimate made. */
function feed(q: SilentQueue, samples: StreamStart[]): number[] {
  const made: number[] = [];
  for (const s of samples) {
    const runs = q.observe(s);
    if (runs !== undefined) made.push(runs);
  }
  return made;
}

const repeat = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

test('streams that waited in a silent engine tell what it runs of ours', () => {
  // slots, prefill, generation, in flight when sent (the limit it was sent under)
  const rows: [number, number, number, number][] = [
    [16, 250, 300, 40],
    [16, 250, 300, 256],
    [2, 50, 500, 20],
    [4, 800, 4000, 12],
    [64, 120, 2000, 100],
  ];
  for (const [slots, prefill, generation, sentWith] of rows) {
    const q = new SilentQueue();
    // Calm first: answers that did not wait show the prefill.
    assert.deepEqual(feed(q, repeat(20, onEngine(slots, prefill, generation, Math.ceil(slots / 2)))), []);
    assert.equal(q.prefillMs, prefill);
    const made = feed(q, repeat(9, onEngine(slots, prefill, generation, sentWith)));
    assert.deepEqual(made, [slots], `${slots} slots, ${sentWith} sent`);
  }
});

test('one estimate is the median of the last nine streams, and the next needs nine new ones', () => {
  const q = new SilentQueue();
  feed(q, repeat(10, onEngine(16, 250, 300, 8)));
  // Among the calm ones, four that waited are no queue yet; the fifth makes it the median's.
  assert.deepEqual(feed(q, repeat(4, onEngine(16, 250, 300, 30))), []);
  assert.deepEqual(feed(q, [onEngine(16, 250, 300, 30)]), [16]);
  assert.deepEqual(feed(q, repeat(8, onEngine(16, 250, 300, 30))), [], 'the evidence used is forgotten');
  // An outlier (a long prompt) among them does not move the estimate.
  assert.deepEqual(feed(q, [{ sentWith: 30, firstTokenMs: 5_000, heldMs: 5_300 }]), [16]);
});

test('a first token that merely slows with the batch, or a queue of one, is left alone', () => {
  const slowed = new SilentQueue();
  feed(slowed, repeat(10, { sentWith: 4, firstTokenMs: 200, heldMs: 500 }));
  // 40% slower first tokens with 16 in flight: no queue a median would show.
  assert.deepEqual(feed(slowed, repeat(30, { sentWith: 16, firstTokenMs: 280, heldMs: 580 })), []);
  const one = new SilentQueue();
  feed(one, repeat(10, onEngine(16, 250, 300, 8)));
  assert.deepEqual(feed(one, repeat(30, onEngine(16, 250, 300, 17))), [], 'one ahead: within the engine’s rhythm');
});

test('first tokens that waited do not raise the prefill they are measured against', () => {
  const q = new SilentQueue();
  feed(q, repeat(20, onEngine(16, 250, 300, 8)));
  const made = feed(q, repeat(300, onEngine(16, 250, 300, 100)));
  assert.equal(q.prefillMs, 250, 'a long queue is not taken for a slower engine');
  assert.deepEqual(new Set(made), new Set([16]));
});

test('with no calm moment, the first streams to end (those that did not wait) give the prefill', () => {
  const q = new SilentQueue();
  // A flood from cold on a FIFO engine: the first to end are the ones it started at once.
  const made = feed(q, [
    ...repeat(16, onEngine(16, 250, 300, 16)),
    ...Array.from({ length: 27 }, (_, i) => onEngine(16, 250, 300, 20 + i)),
  ]);
  assert.deepEqual(new Set(made), new Set([16]));
});
