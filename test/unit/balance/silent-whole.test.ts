import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feed } from '../../helpers/estimates.ts';
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

/** `onEngine` for prompts of `prompt` tokens whose prefill adds 0.5 ms a token (those ahead: the mean prompt's). */
function withPrompt(slots: number, sentWith: number, tokens: number, prompt: number, meanPrompt: number): WholeAnswer {
  const waitMs = (Math.max(0, sentWith - slots) * (runOf(40) + 0.5 * meanPrompt)) / slots;
  return { sentWith, heldMs: waitMs + runOf(tokens) + 0.5 * prompt, tokens, promptTokens: prompt };
}

test("long prompts' whole answers are read against their prefill too: no queue where there is none, S where there is", () => {
  const prompts = lengths(300, 100, 4_000, 3);
  const answerLengths = lengths(300, 16, 64, 4);
  // Two of three prompts long: they never come under 1.2 times the short ones' line until the line knows prompts.
  const mixed = prompts.map((p, i) => (i % 3 === 0 ? 100 : p));
  const calm = mixed.map((p, i) => withPrompt(16, 12, answerLengths[i] as number, p, 2_000));
  assert.deepEqual(feed(new SilentWhole(), calm), [], 'read with their prompts: no queue');
  const blind = calm.map((a) => ({ ...a, promptTokens: undefined }));
  assert.notDeepEqual(feed(new SilentWhole(), blind), [], 'read without them, the long ones look like waits');
  const q = new SilentWhole();
  feed(q, calm);
  const made = feed(
    q,
    mixed.slice(0, 90).map((p, i) => withPrompt(16, 40, answerLengths[i] as number, p, 2_000)),
  );
  assert.ok(made.length > 0 && made.every((m) => m >= 14 && m <= 18), `read ${made.join(', ')}`);
});
