import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';
import { answerText, promptText } from '../../src/mock/answer-text.ts';
import { drawFaults } from '../../src/mock/random-faults.ts';
import { requestRng, RNG_STREAM } from '../../src/mock/rng.ts';
import { PACE } from '../../src/upstream/stream-pace.ts';

const MAX_TOKENS = 30;
/**
 * Healthy streams sent before the crawl: the learner needs PACE.minSamples of them with a measured pace, and a
 * stream whose events all reach the gateway in one read (a busy machine delays the read of a 60 ms answer) has no
 * gaps to measure, so a few more than the minimum are sent.
 */
const WARM = PACE.minSamples + 10;
const rates = { slowTokens: 0.1, slowTokenMs: 300 };

/**
 * A seed under which the simulator's first WARM streams are healthy (the gateway learns the upstream's pace from
 * them), the next one crawls at 300 ms a token, and the one after is healthy again: the continuation. Computed
 * from the simulator's own seeded draw, so the test never depends on luck.
 */
function warmThenCrawlSeed(): number {
  const slow = (seed: number, n: number) =>
    drawFaults(rates, requestRng(seed, RNG_STREAM.faults, n), MAX_TOKENS)?.kind === 'slowTokens';
  for (let seed = 1; seed < 100_000; seed++) {
    let ok = true;
    for (let n = 1; n <= WARM && ok; n++)
      ok = !slow(seed, n) && drawFaults(rates, requestRng(seed, RNG_STREAM.faults, n), MAX_TOKENS) === undefined;
    if (
      ok &&
      slow(seed, WARM + 1) &&
      drawFaults(rates, requestRng(seed, RNG_STREAM.faults, WARM + 2), MAX_TOKENS) === undefined
    )
      return seed;
  }
  throw new Error('no seed found');
}

test('on defaults, a stream crawling too slowly to meet its deadline is cut and continued: the exact whole answer, in time', async (t) => {
  const seed = warmThenCrawlSeed();
  const { client, mocks } = await startStack(t, {
    mocks: [{ kind: 'vllm', seed, faults: rates, ttftMs: 5, tokenMs: 2, continueAfterAbort: true }],
    config: (urls) => ({
      upstreams: [{ name: 'up', url: `${urls[0]!}/v1`, kind: 'vllm' }],
      models: { chat: { routes: [{ upstream: 'up' }] } },
    }),
  });
  const messages = [{ role: 'user' as const, content: 'Tell me a long story' }];
  const read = async (deadlineS: number): Promise<string> => {
    const stream = await client.chat.completions.create(
      { model: 'chat', messages, max_tokens: MAX_TOKENS, stream: true },
      { headers: { 'x-stainless-timeout': String(deadlineS) } },
    );
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    return text;
  };
  for (let i = 0; i < WARM; i++) await read(30);
  // 30 tokens at 300 ms need 9 s; the client waits 4 s. Without the cut the stream would end broken at the deadline.
  const text = await read(4);
  assert.equal(text, answerText(seed, promptText({ messages }), MAX_TOKENS));
  const stats = mocks[0]!.stats();
  assert.equal(stats.faults.slow_tokens, 1, 'exactly one crawl was drawn');
  assert.equal(stats.received, WARM + 2, 'the crawl and its continuation, nothing more');
});
