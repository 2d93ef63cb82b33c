import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feed } from '../../helpers/estimates.ts';
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

/**
 * A FIFO engine of `slots` whose prefill grows with the prompt (`baseMs` + `perTokenMs` a token), at steady state:
 * those ahead hold their slots for the mean prompt's prefill and the generation.
 */
function onPromptEngine(
  e: { slots: number; baseMs: number; perTokenMs: number; generationMs: number; meanPrompt: number },
  sentWith: number,
  promptTokens: number,
): StreamStart {
  const prefillMs = e.baseMs + e.perTokenMs * promptTokens;
  const runMs = e.baseMs + e.perTokenMs * e.meanPrompt + e.generationMs;
  const waitMs = (Math.max(0, sentWith - e.slots) * runMs) / e.slots;
  return { sentWith, firstTokenMs: prefillMs + waitMs, heldMs: waitMs + prefillMs + e.generationMs, promptTokens };
}

/** Prompts of 100 to 8 000 tokens, drawn from a fixed seed (a RAG workload beside chat turns). */
function prompts(n: number): number[] {
  let x = 11;
  return Array.from({ length: n }, () => 100 + ((x = (x * 48271) % 2147483647) % 7_900));
}

test('long prompts are not read as a queue: the prefill is read against the prompt', () => {
  // 0.1 ms a prompt token: 8 000 tokens add 800 ms to a 60 ms first token; the engine has room for all (10 of 16).
  const e = { slots: 16, baseMs: 60, perTokenMs: 0.1, generationMs: 600, meanPrompt: 4_050 };
  const calm = prompts(400).map((p) => onPromptEngine(e, 10, p));
  assert.deepEqual(feed(new SilentQueue(), calm), [], 'read with their prompts: no queue');
  const blind = calm.map((s) => ({ ...s, promptTokens: undefined }));
  assert.notDeepEqual(feed(new SilentQueue(), blind), [], 'read without them, the long ones look like waits');
  const q = new SilentQueue();
  feed(q, calm);
  assert.ok(Math.abs((q.prefillFor(8_000) as number) - 860) < 30, `prefill of 8 000 tokens: ${q.prefillFor(8_000)}`);
});

test('short chat turns and long RAG prompts together: the long ones are read against their own prefill', () => {
  // Two prompts of three are 4 000 tokens (460 ms to a first token), one is 50 (65 ms): the long ones never come
  // under twice the short ones' prefill, so the first of them is taken as it comes and the line follows it.
  const e = { slots: 16, baseMs: 60, perTokenMs: 0.1, generationMs: 600, meanPrompt: 2_700 };
  const calm = Array.from({ length: 300 }, (_, i) => onPromptEngine(e, 12, i % 3 === 0 ? 50 : 4_000));
  assert.deepEqual(feed(new SilentQueue(), calm), []);
  const blind = calm.map((s) => ({ ...s, promptTokens: undefined }));
  assert.notDeepEqual(feed(new SilentQueue(), blind), [], 'read without their prompts, the long ones look like waits');
  // And a queue on the same engine still shows: 48 sent to its 16.
  const q = new SilentQueue();
  feed(q, calm);
  const made = feed(
    q,
    Array.from({ length: 90 }, (_, i) => onPromptEngine(e, 48, i % 3 === 0 ? 50 : 4_000)),
  );
  assert.ok(made.length > 0 && made.every((runs) => Math.abs(runs - 16) <= 2), `read ${made.join(', ')}`);
});

test('with prompts of every length, a queue still tells what the engine runs', () => {
  for (const slots of [4, 16, 64]) {
    const e = { slots, baseMs: 60, perTokenMs: 0.1, generationMs: 600, meanPrompt: 4_050 };
    const q = new SilentQueue();
    feed(
      q,
      prompts(100).map((p) => onPromptEngine(e, Math.ceil(slots / 2), p)),
    );
    const made = feed(
      q,
      prompts(90).map((p) => onPromptEngine(e, slots * 3, p)),
    );
    assert.ok(made.length > 0, `${slots} slots: an estimate`);
    for (const runs of made) assert.ok(Math.abs(runs - slots) <= Math.max(1, slots / 8), `${slots} slots read ${runs}`);
  }
});

test('prompts all of one length leave the prefill the first tokens show (no slope made of rounding)', () => {
  for (const promptTokens of [5, 37, 1_234]) {
    const q = new SilentQueue();
    feed(
      q,
      Array.from({ length: 150 }, (_, i) => ({ ...onEngine(16, 250 + (i % 7), 300, 8), promptTokens })),
    );
    assert.equal(q.prefillMs, 251, `${promptTokens} tokens`);
    assert.equal(q.prefillFor(10 * promptTokens), 251, `${promptTokens} tokens: no slope`);
    const made = feed(q, repeat(9, { ...onEngine(16, 251, 300, 40), promptTokens }));
    assert.deepEqual(made, [16], `${promptTokens} tokens`);
  }
});
