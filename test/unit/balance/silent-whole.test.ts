import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SilentWhole, type WholeAnswer } from '../../../src/balance/silent-whole.ts';
import { createRng } from '../../../src/mock/rng.ts';

/** An engine's time for a whole answer: a 300 ms prefill and 25 ms a token. */
const runOf = (tokens: number): number => 300 + 25 * tokens;

/**
 * A whole answer of `tokens` on a FIFO engine of `slots` at steady state, sent with `sentWith` of ours in flight: it
 * waits for the `sentWith − slots` ahead of it, each slot freeing every (mean run) / slots ms.
 */
function onEngine(slots: number, sentWith: number, tokens: number, meanTokens: number): WholeAnswer {
  const waitMs = (Math.max(0, sentWith - slots) * runOf(meanTokens)) / slots;
  return { sentWith, heldMs: waitMs + runOf(tokens), tokens };
}

function feed(q: SilentWhole, answers: WholeAnswer[]): number[] {
  const made: number[] = [];
  for (const a of answers) {
    const runs = q.observe(a);
    if (runs !== undefined) made.push(runs);
  }
  return made;
}

/** `n` answer lengths drawn from [lo, hi]. */
function lengths(n: number, lo: number, hi: number, seed = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(rng() * (hi - lo + 1)));
}

test('whole answers that waited in a silent engine tell what it runs, read against their lengths', () => {
  for (const [slots, sentWith] of [
    [4, 30],
    [16, 40],
    [64, 100],
  ] as const) {
    const q = new SilentWhole();
    const calm = lengths(40, 16, 64).map((t) => onEngine(slots, Math.ceil(slots / 2), t, 40));
    assert.deepEqual(feed(q, calm), [], 'answers that did not wait say nothing');
    const made = feed(
      q,
      lengths(90, 16, 64, 2).map((t) => onEngine(slots, sentWith, t, 40)),
    );
    assert.ok(made.length >= 5, `${slots} slots: an estimate every nine answers`);
    // Rounded up, and scattered by the lengths of the nine (their mean run stands for those ahead): within an eighth.
    for (const m of made)
      assert.ok(m >= slots - slots / 8 && m <= slots + Math.max(1, slots / 8), `${slots}: ${made.join(', ')}`);
  }
});

test('a turn to longer answers moves along the line: no queue is read, where a mean time would read one', () => {
  const q = new SilentWhole();
  feed(
    q,
    lengths(40, 16, 64).map((t) => onEngine(16, 8, t, 40)),
  );
  // The workload turns to answers three to six times longer, on an engine with room: no wait anywhere.
  assert.deepEqual(
    feed(
      q,
      lengths(60, 200, 400).map((t) => onEngine(16, 12, t, 300)),
    ),
    [],
  );
});

test('the line is not pulled up by the answers of a queue', () => {
  const q = new SilentWhole();
  feed(
    q,
    lengths(40, 16, 64).map((t) => onEngine(4, 2, t, 40)),
  );
  const before = q.expectMs(40);
  // A long queue, then one a fifth of a run long (under 1.5 runs: it would pass for no wait at all).
  feed(
    q,
    lengths(40, 16, 64, 3).map((t) => onEngine(4, 30, t, 40)),
  );
  feed(
    q,
    lengths(200, 16, 64, 4).map((t) => onEngine(4, 5, t, 40)),
  );
  assert.equal(q.expectMs(40), before);
  assert.equal(before, runOf(40));
});
