import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { answerText, answerTokens, promptText } from '../../src/mock/answer-text.ts';
import { drawFaults } from '../../src/mock/random-faults.ts';
import { requestRng, RNG_STREAM } from '../../src/mock/rng.ts';
import type { UpstreamKind } from '../../src/upstream/upstream-kind.ts';

const PROMPT = 'Tell me a long story';
const messages = [{ role: 'user' as const, content: PROMPT }];
const MAX_TOKENS = 30;
const rates = { resetMidStream: 0.5 };

/**
 * A seed under which the simulator's first generation request is cut mid-answer (after at least two tokens) and
 * its second is whole: the cut stream, then its continuation on the same upstream (computed from the
 * simulator's own seeded draw, so the test never depends on luck).
 */
function cutThenWholeSeed(): { seed: number; cutAfter: number } {
  for (let seed = 1; seed < 10_000; seed++) {
    const first = drawFaults(rates, requestRng(seed, RNG_STREAM.faults, 1), MAX_TOKENS);
    const second = drawFaults(rates, requestRng(seed, RNG_STREAM.faults, 2), MAX_TOKENS);
    const cutAfter = first?.faults.resetAfterTokens;
    if (first?.kind === 'resetMidStream' && cutAfter !== undefined && cutAfter >= 2 && second === undefined)
      return { seed, cutAfter };
  }
  throw new Error('no seed found');
}

/** One simulator behind the gateway: its name, kind, how its base URL is written, and any mock option of its own. */
interface Upstream {
  name: string;
  kind: UpstreamKind;
  url: (u: string) => string;
  continueAfterAbort?: boolean;
}

/**
 * The default config — upstreams and routes only, no kind, no continuation setting — in front of simulators of the
 * given kinds, the first of which cuts its first stream mid-answer (and, with several, is weighted so it is drawn
 * first; the others are whole). The gateway learns the kinds from their GET /models at startup.
 */
async function cutStream(t: Parameters<typeof startStack>[0], upstreams: readonly Upstream[]) {
  const { seed, cutAfter } = cutThenWholeSeed();
  const several = upstreams.length > 1;
  const stack = await startStack(t, {
    mocks: upstreams.map((u, i) => ({
      kind: u.kind,
      seed,
      ...(i === 0 ? { faults: rates } : {}),
      ...(u.continueAfterAbort === true ? { continueAfterAbort: true } : {}),
    })),
    config: (urls) => ({
      upstreams: upstreams.map((u, i) => ({
        name: u.name,
        url: u.url(urls[i]!),
        ...(several ? { weight: i === 0 ? 1000 : 1 } : {}),
      })),
      models: { chat: { routes: upstreams.map((u) => ({ upstream: u.name })) } },
    }),
    gateway: { probeKinds: true },
  });
  await stack.gw.kindsSettled();
  const stream = await stack.client.chat.completions.create({
    model: 'chat',
    messages,
    max_tokens: MAX_TOKENS,
    stream: true,
  });
  return { ...stack, stream, seed, cutAfter };
}

const v1 = (u: string) => `${u}/v1`;

for (const [kind, baseUrl, path] of [
  ['deepseek', (u: string) => u, '/beta/chat/completions'], //        DeepSeek's own base URL form: no /v1
  ['vllm', (u: string) => `${u}/v1`, '/v1/chat/completions'],
  ['sglang', (u: string) => `${u}/v1`, '/v1/chat/completions'],
] as const) {
  test(`on defaults, a ${kind} stream cut mid-answer is continued: the client gets the exact whole answer once`, async (t) => {
    const { stream, mocks, gw, seed, cutAfter } = await cutStream(t, [
      { name: 'up', kind, url: baseUrl, continueAfterAbort: true },
    ]);
    let text = '';
    const ids = new Set<string>();
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      ids.add(c.id);
    }
    assert.equal(
      text.length,
      answerText(seed, promptText({ messages }), MAX_TOKENS).length,
      `${text} (cut after ${cutAfter})`,
    );
    assert.equal(text, answerText(seed, promptText({ messages }), MAX_TOKENS));
    assert.equal(ids.size, 1);
    const stats = mocks[0]!.stats();
    assert.equal(stats.faults.reset_after_tokens, 1, `the first stream was cut after ${cutAfter} tokens`);
    assert.deepEqual(
      stats.byPath,
      kind === 'deepseek' ? { '/models': 1, '/chat/completions': 1, [path]: 1 } : { '/v1/models': 1, [path]: 2 },
      `the continuation went to ${path}`,
    );
    const last = stats.lastRequest?.body as {
      messages: { role: string; content: string; prefix?: boolean }[];
      continue_final_message?: boolean;
      max_tokens: number;
    };
    assert.equal(
      last.messages.at(-1)?.content,
      answerTokens(seed, promptText({ messages }), MAX_TOKENS).slice(0, cutAfter).join(''),
    );
    assert.equal(last.max_tokens, MAX_TOKENS - cutAfter);
    if (kind === 'deepseek') assert.equal(last.messages.at(-1)?.prefix, true);
    else assert.equal(last.continue_final_message, true);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(m, /spillway_continuations_total\{model="chat",result="completed"\} 1/);
  });
}

test('on defaults, a cut stream from a generic OpenAI-compatible upstream ends with the in-band error, never continued', async (t) => {
  const { stream, mocks, cutAfter, seed } = await cutStream(t, [
    { name: 'up', kind: 'openai', url: v1, continueAfterAbort: true },
  ]);
  let text = '';
  await assert.rejects(
    async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    },
    (e: unknown) => e instanceof OpenAI.APIError && /interrupted/.test(e.message),
  );
  assert.equal(text, answerTokens(seed, promptText({ messages }), MAX_TOKENS).slice(0, cutAfter).join(''));
  assert.equal(
    mocks[0]!.stats().byPath['/v1/chat/completions'],
    1,
    'no second request: nothing exact to continue with',
  );
});

test("a model with routes of several kinds continues a cut answer exactly on another kind, in that upstream's way", async (t) => {
  const { stream, mocks, seed, cutAfter } = await cutStream(t, [
    { name: 'ds', kind: 'deepseek', url: (u) => u },
    { name: 'vl', kind: 'vllm', url: v1 },
  ]);
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, answerText(seed, promptText({ messages }), MAX_TOKENS));
  assert.deepEqual(
    mocks[0]!.stats().byPath,
    { '/models': 1, '/chat/completions': 1 },
    'the DeepSeek that cut the answer is not asked again while another route continues it',
  );
  const last = mocks[1]!.stats().lastRequest?.body as {
    messages: { content: string }[];
    continue_final_message?: boolean;
  };
  assert.equal(last.continue_final_message, true, "the vLLM route continues the DeepSeek's answer its own way");
  assert.equal(
    last.messages.at(-1)?.content,
    answerTokens(seed, promptText({ messages }), MAX_TOKENS).slice(0, cutAfter).join(''),
  );
});

test('a stream cut on a generic OpenAI-compatible upstream is continued exactly on a vLLM route of the same model', async (t) => {
  const { stream, mocks, seed, cutAfter } = await cutStream(t, [
    { name: 'oa', kind: 'openai', url: v1 },
    { name: 'vl', kind: 'vllm', url: v1 },
  ]);
  let text = '';
  const ids = new Set<string>();
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    ids.add(c.id);
  }
  assert.equal(text, answerText(seed, promptText({ messages }), MAX_TOKENS), `cut after ${cutAfter} tokens`);
  assert.equal(ids.size, 1, 'one answer, one id');
  assert.equal(mocks[0]!.stats().byPath['/v1/chat/completions'], 1, 'the generic host is not asked to continue');
  const last = mocks[1]!.stats().lastRequest?.body as {
    messages: { content: string }[];
    continue_final_message?: boolean;
  };
  assert.equal(last.continue_final_message, true);
  assert.equal(
    last.messages.at(-1)?.content,
    answerTokens(seed, promptText({ messages }), MAX_TOKENS).slice(0, cutAfter).join(''),
  );
});
