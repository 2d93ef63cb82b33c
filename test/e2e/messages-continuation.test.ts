import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { FIRST_CHOICE, startStack, type StackOptions } from '../helpers/stack.ts';
import { answerText, answerTokens } from '../../src/mock/answer-text.ts';
import type { MockServer } from '../../src/mock/server.ts';
import { prompt } from '../helpers/messages-cases.ts';

/**
 * A Messages stream passed through to a Messages upstream and cut mid-answer is continued exactly: a prefill on a
 * Messages upstream that documents it (DeepSeek's `/anthropic`), spliced into the client's stream so the official
 * client reads ONE message. A cut inside a thinking or tool_use block still ends with the in-band error.
 */

async function anthropicStack(t: TestContext, opts: StackOptions) {
  const s = await startStack(t, opts);
  const anthropic = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  return { ...s, anthropic };
}

/** The bodies each mock was sent, in order. */
function bodies(mock: MockServer): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  mock.events.on('request', (r: { body: Record<string, unknown> }) => seen.push(r.body));
  return seen;
}

/** Two DeepSeek-kind upstreams served under /anthropic; the heavy one cuts every stream mid-answer. */
function cuttingPair(opts: { continuation?: string } = {}): StackOptions {
  return {
    mocks: [{ kind: 'deepseek', faults: { resetMidStream: 1 } }, { kind: 'deepseek' }],
    config: (urls) => ({
      upstreams: [
        { name: 'cutting', url: urls[0], kind: 'deepseek' },
        { name: 'whole', url: urls[1], kind: 'deepseek' },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'cutting', model: 'deepseek-v4-flash', weight: FIRST_CHOICE },
            { upstream: 'whole', model: 'deepseek-v4-flash', weight: 1 },
          ],
          ...(opts.continuation === undefined ? {} : { continuation: opts.continuation }),
        },
      },
    }),
  };
}

test('a passed-through stream cut mid-answer is continued by a prefill: one message, the exact text, the continuation’s stop and usage', async (t) => {
  const { anthropic, mocks, gw } = await anthropicStack(t, cuttingPair());
  const sentToWhole = bodies(mocks[1] as MockServer);
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 30,
    messages: [{ role: 'user', content: prompt }],
  });
  const events: Anthropic.MessageStreamEvent[] = [];
  stream.on('streamEvent', (e) => events.push(e));
  const final = await stream.finalMessage();
  assert.equal(await stream.finalText(), answerText(1, prompt, 30), 'every token exactly once, in order');
  const types = events.map((e) => e.type);
  assert.equal(types.filter((x) => x === 'message_start').length, 1);
  assert.equal(types.filter((x) => x === 'message_stop').length, 1);
  assert.equal(types.at(-1), 'message_stop');
  const indexes = new Set(events.flatMap((e) => ('index' in e ? [e.index] : [])));
  assert.deepEqual([...indexes], [0], 'the continuation went on in the block that was cut');
  assert.equal(types.filter((x) => x === 'content_block_start').length, 1);
  assert.equal(types.filter((x) => x === 'content_block_stop').length, 1);
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['text'],
  );
  assert.equal(final.model, 'chat');
  assert.equal(final.stop_reason, 'max_tokens');
  // The continuation was a prefill: the text the client had, as the last assistant turn, and the tokens left.
  assert.equal(sentToWhole.length, 1);
  const cont = sentToWhole[0] as { messages: { role: string; content: string }[]; max_tokens: number };
  const prefill = cont.messages.at(-1);
  assert.equal(prefill?.role, 'assistant');
  const had = answerTokens(1, prompt, 30);
  const cutAt = had.findIndex((_t, i) => had.slice(0, i + 1).join('') === prefill?.content) + 1;
  assert.ok(cutAt > 0 && cutAt < 30, `the prefill is the answer's first tokens (${String(prefill?.content)})`);
  assert.equal(cont.max_tokens, 30 - cutAt);
  assert.equal(final.usage.output_tokens, 30 - cutAt, "the continuation's usage ends the message");
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_continuations_total\{model="chat",result="completed"\} 1\n/);
});

test("a client's own prefill is continued too: the continuation's prefill is the client's text and then the answer's", async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, cuttingPair());
  const sentToWhole = bodies(mocks[1] as MockServer);
  const own = answerTokens(1, prompt, 40).slice(0, 4).join('');
  const text = await anthropic.messages
    .stream({
      model: 'chat',
      max_tokens: 20,
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: own },
      ],
    })
    .finalText();
  assert.equal(own + text, answerText(1, prompt, 24));
  const last = (sentToWhole[0] as { messages: { role: string; content: string }[] }).messages.at(-1);
  assert.equal(last?.role, 'assistant');
  assert.ok(last?.content.startsWith(own) === true && last.content.length > own.length);
});

test('with continuation off the cut passed-through stream still ends with the in-band error, never a clean end', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, cuttingPair({ continuation: 'off' }));
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 30,
    messages: [{ role: 'user', content: prompt }],
  });
  await assert.rejects(stream.finalMessage(), (e: unknown) => {
    assert.ok(e instanceof Anthropic.APIError, `got ${String(e)}`);
    assert.match(e.message, /interrupted/);
    return true;
  });
  assert.equal(mocks[1]?.stats().received, 0, 'nothing was sent to continue it');
});

test('a cut inside a tool_use block or after a thinking block is not continued: the in-band error stands', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, cuttingPair());
  const tool = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 12,
    messages: [{ role: 'user', content: prompt }],
    tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
  });
  await assert.rejects(
    tool.finalMessage(),
    (e: unknown) => e instanceof Anthropic.APIError && /interrupted/.test(e.message),
  );
  const thinking = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 12,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [{ role: 'user', content: prompt }],
  });
  await assert.rejects(
    thinking.finalMessage(),
    (e: unknown) => e instanceof Anthropic.APIError && /interrupted/.test(e.message),
  );
  assert.equal(mocks[1]?.stats().received, 0, 'neither was continued');
});
