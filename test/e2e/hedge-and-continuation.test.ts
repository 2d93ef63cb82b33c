import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { FIRST_CHOICE, fixedUpstream, nextEvent, startStack } from '../helpers/stack.ts';
import { answerTokens, answerText } from '../../src/mock/answer-text.ts';
import { CONTINUE_PROMPT } from '../../src/retry/continuation.ts';

const PROMPT = 'Tell me a long story';
const messages = [{ role: 'user' as const, content: PROMPT }];

interface Seen {
  body: Record<string, unknown>;
}

/**
 * An SSE upstream that answers the deterministic text, understands the three continuation forms, and cuts its
 * stream after `cutAfter` tokens when asked (the connection is destroyed: no [DONE], no error event).
 */
function continuingUpstream(cutAfter: number | undefined, seen: Seen[]) {
  return (_req: IncomingMessage, res: ServerResponse, text: string) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    seen.push({ body });
    const msgs = body.messages as { role: string; content: string; prefix?: boolean }[];
    const lastMsg = msgs.at(-1);
    let prefix = '';
    if (lastMsg?.role === 'assistant') prefix = lastMsg.content;
    else if (lastMsg?.role === 'user' && lastMsg.content === CONTINUE_PROMPT) prefix = msgs.at(-2)?.content ?? '';
    const prefixTokens = prefix === '' ? 0 : prefix.split(' ').filter((t) => t !== '').length;
    const maxTokens = Number(body.max_tokens) + prefixTokens;
    const all = answerTokens(1, PROMPT, maxTokens);
    assert.equal(all.slice(0, prefixTokens).join(''), prefix, 'the continuation prefix is exactly what the client had');
    const rest = all.slice(prefixTokens);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: `up-${seen.length}`, object: 'chat.completion.chunk', model: 'chat', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    let out = chunk({ role: 'assistant', content: '' });
    for (let i = 0; i < rest.length; i++) {
      if (cutAfter !== undefined && i === cutAfter) {
        // Destroyed once the bytes are flushed: the client has the tokens, then the connection dies.
        res.write(out, () => res.socket?.destroy());
        return;
      }
      out += chunk({ content: rest[i] });
    }
    if (cutAfter === rest.length) {
      res.write(out, () => res.socket?.destroy());
      return;
    }
    res.end(`${out}${chunk({}, 'length')}data: [DONE]\n\n`);
  };
}

for (const mode of ['prefix', 'continue_final_message', 'prompt'] as const) {
  test(`continues a stream cut at token 17 (${mode}) and the client receives every token exactly once`, async (t) => {
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    const a = await fixedUpstream(t, continuingUpstream(17, seenA));
    const b = await fixedUpstream(t, continuingUpstream(undefined, seenB));
    const { client, gw } = await startStack(t, {
      mocks: [],
      config: () => ({
        upstreams: [
          { name: 'a', url: `${a.url}/v1`, weight: FIRST_CHOICE },
          { name: 'b', url: `${b.url}/v1` },
        ],
        models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }], continuation: mode } },
      }),
    });
    const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 40, stream: true });
    let text = '';
    const ids = new Set<string>();
    let roles = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.choices[0]?.delta.role !== undefined) roles++;
      ids.add(c.id);
    }
    assert.equal(text, answerText(1, PROMPT, 40));
    assert.equal(ids.size, 1, 'the continuation keeps the original completion id');
    assert.equal(roles, 1, 'the role chunk is not repeated');
    assert.equal(seenB.length, 1);
    assert.equal(seenB[0]?.body.max_tokens, 40 - 17);
    if (mode === 'continue_final_message') assert.equal(seenB[0]?.body.continue_final_message, true);
    if (mode === 'prefix') assert.equal((seenB[0]?.body.messages as { prefix?: boolean }[]).at(-1)?.prefix, true);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(m, /spillway_continuations_total\{model="chat",result="completed"\} 1/);
  });
}

test('a stream cut after its last allowed token is finished by the gateway, never continued past max_tokens', async (t) => {
  const seenB: Seen[] = [];
  const a = await fixedUpstream(t, continuingUpstream(40, []));
  const b = await fixedUpstream(t, continuingUpstream(undefined, seenB));
  const { client } = await startStack(t, {
    mocks: [],
    config: () => ({
      upstreams: [
        { name: 'a', url: `${a.url}/v1`, weight: FIRST_CHOICE },
        { name: 'b', url: `${b.url}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }], continuation: 'prefix' } },
    }),
  });
  const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 40, stream: true });
  let text = '';
  let finish: string | null | undefined;
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    finish ??= c.choices[0]?.finish_reason;
  }
  assert.equal(text, answerText(1, PROMPT, 40));
  assert.equal(finish, 'length');
  assert.equal(seenB.length, 0, 'nothing was left to continue');
});

test('without continuation a cut stream ends with the in-band error, never a clean end', async (t) => {
  const a = await fixedUpstream(t, continuingUpstream(5, []));
  const { client } = await startStack(t, {
    mocks: [],
    config: () => ({
      upstreams: [{ name: 'a', url: `${a.url}/v1` }],
      models: { chat: { routes: [{ upstream: 'a' }] } },
    }),
  });
  const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 40, stream: true });
  let text = '';
  await assert.rejects(
    async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    },
    (e: unknown) => e instanceof OpenAI.APIError && /interrupted/.test(e.message),
  );
  assert.equal(text, answerTokens(1, PROMPT, 40).slice(0, 5).join(''));
});

test('a late first token is hedged on another upstream; the first to answer wins and the other is cancelled', async (t) => {
  const { client, gw, mocks } = await startStack(t, {
    mocks: [{ ttftMs: 20_000 }, { ttftMs: 0 }],
    config: (urls) => ({
      upstreams: [
        { name: 'slow', url: `${urls[0]}/v1`, weight: FIRST_CHOICE },
        { name: 'fast', url: `${urls[1]}/v1` },
      ],
      models: {
        chat: {
          routes: [{ upstream: 'slow' }, { upstream: 'fast' }],
          hedge: { min_delay: '100ms', max_delay: '100ms' },
        },
      },
    }),
  });
  const aborted = nextEvent(mocks[0]!.events, 'aborted');
  const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 5, stream: true });
  let text = '';
  for await (const c of r) text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, answerText(1, PROMPT, 5));
  await aborted;
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_hedges_total\{model="chat"\} 1/);
  assert.match(m, /spillway_hedge_wins_total\{upstream="fast",winner="hedge"\} 1/);
  assert.match(m, /spillway_upstream_attempts_total\{upstream="slow",outcome="cancelled"\} 1/);
});

test("a hedge obeys its account's limits: with the fast account's one request a minute spent, the next request is not hedged", async (t) => {
  const { client, gw, mocks } = await startStack(t, {
    mocks: [{ ttftMs: 600 }, { ttftMs: 0 }],
    config: (urls) => ({
      upstreams: [
        { name: 'slow', url: `${urls[0]}/v1`, weight: FIRST_CHOICE },
        { name: 'fast', url: `${urls[1]}/v1`, requests_per_minute: 1 },
      ],
      models: {
        chat: {
          routes: [{ upstream: 'slow' }, { upstream: 'fast' }],
          hedge: { min_delay: '100ms', max_delay: '100ms' },
        },
      },
      retry: { budget_ratio: 10 },
    }),
  });
  for (let i = 0; i < 2; i++) {
    const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 5 });
    assert.equal(r.choices[0]?.message.content, answerText(1, PROMPT, 5));
  }
  assert.equal(mocks[1]!.stats().received, 1, 'the fast account took one request: its limit');
  assert.equal(mocks[0]!.stats().received, 2);
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(m, /spillway_hedges_total\{model="chat"\} 1/, 'the second request was not hedged');
  // The fast account's slot, taken and given back when its limit said no, was never an upstream attempt.
  assert.match(m, /spillway_upstream_attempts_total\{upstream="fast",outcome="ok"\} 1\n/);
  assert.doesNotMatch(m, /spillway_upstream_attempts_total\{upstream="fast",outcome="cancelled"\}/);
});

test('the simulator continues its own answer: a stream cut by a fleet fault is completed through the gateway', async (t) => {
  const { client, mocks } = await startStack(t, {
    mocks: [{ faults: { resetMidStream: 1 } }, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'cutting', url: `${urls[0]}/v1`, weight: FIRST_CHOICE },
        { name: 'whole', url: `${urls[1]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'cutting' }, { upstream: 'whole' }], continuation: 'prefix' } },
    }),
  });
  const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 30, stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, answerText(1, PROMPT, 30));
  assert.equal(mocks[1]!.stats().completed, 1);
});

test('on defaults, a non-stream answer allowed far more tokens than the recent ones is not hedged for its length', async (t) => {
  // Thirty answers of 10 tokens (~0.15 s; at least 20 on each upstream's learner is what the test needs, and the
  // balancer spreads them), then one allowed 200 (~2 s): past its peers' p95 many times over, yet not late —
  // hedged, it would be generated twice.
  const { client, gw, mocks } = await startStack(t, {
    mocks: [
      { ttftMs: 50, tokenMs: 10 },
      { ttftMs: 50, tokenMs: 10 },
    ],
    config: (urls) => ({
      upstreams: [
        { name: 'a', url: `${urls[0]}/v1`, weight: FIRST_CHOICE },
        { name: 'b', url: `${urls[1]}/v1` },
      ],
      models: { chat: { routes: [{ upstream: 'a' }, { upstream: 'b' }] } },
    }),
  });
  for (let i = 0; i < 30; i++)
    await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: `q${i}` }],
      max_tokens: 10,
    });
  const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 200 });
  assert.equal(r.choices[0]?.message.content, answerText(1, PROMPT, 200));
  assert.equal(mocks[0]!.stats().received + mocks[1]!.stats().received, 31, 'one generation of the long answer');
  assert.doesNotMatch(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_hedges_total\{model="chat"\} [1-9]/);
});
