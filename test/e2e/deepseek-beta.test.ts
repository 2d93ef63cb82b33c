import { test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { answerTokens, promptText } from '../../src/mock/answer-text.ts';

/**
 * A DeepSeek-like simulator behind the gateway, at DeepSeek's own base URL form (no /v1), the kind set as a user
 * whose URL is not api.deepseek.com would set it. The client keeps the gateway's one base URL for everything.
 */
async function deepseekStack(t: Parameters<typeof startStack>[0]) {
  return startStack(t, {
    mocks: [{ kind: 'deepseek' }],
    config: (urls) => ({
      upstreams: [{ name: 'ds', url: urls[0]!, kind: 'deepseek' }],
      models: { 'deepseek-chat': { routes: [{ upstream: 'ds' }] } },
    }),
  });
}

const user = { role: 'user' as const, content: 'Write quick sort in python' };

test("a client's chat prefix completion reaches DeepSeek under /beta; a plain request keeps the normal path", async (t) => {
  const { client, mocks } = await deepseekStack(t);
  const tokens = answerTokens(1, promptText({ messages: [user] }), 8);
  const prefix = tokens.slice(0, 3).join('');
  const r = await client.chat.completions.create({
    model: 'deepseek-chat',
    max_tokens: 5,
    messages: [
      user,
      { role: 'assistant', content: prefix, prefix: true } as OpenAI.ChatCompletionAssistantMessageParam,
    ],
  });
  assert.equal(r.choices[0]?.message.content, tokens.slice(3).join(''));
  await client.chat.completions.create({ model: 'deepseek-chat', messages: [user], max_tokens: 2 });
  assert.deepEqual(mocks[0]!.stats().byPath, { '/beta/chat/completions': 1, '/chat/completions': 1 });
});

test('FIM (/completions with suffix) and strict tools reach DeepSeek under /beta', async (t) => {
  const { client, mocks } = await deepseekStack(t);
  const fim = await client.completions.create({
    model: 'deepseek-chat',
    prompt: 'def fib(a):',
    suffix: '    return fib(a-1) + fib(a-2)',
    max_tokens: 4,
  });
  assert.equal(fim.choices[0]?.text, answerTokens(1, 'def fib(a):', 4).join(''));
  const tool = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      strict: true,
      parameters: {
        type: 'object',
        properties: { q: { type: 'string' } },
        required: ['q'],
        additionalProperties: false,
      },
    },
  };
  const r = await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [user],
    tools: [tool],
    max_tokens: 3,
  });
  assert.equal(r.choices[0]?.message.tool_calls?.[0]?.type, 'function');
  assert.deepEqual(mocks[0]!.stats().byPath, { '/beta/completions': 1, '/beta/chat/completions': 1 });
});

test('a tool loop whose assistant turn lost reasoning_content is repaired, not refused with 400', async (t) => {
  const { client, mocks } = await deepseekStack(t);
  const call = {
    id: 'call_1',
    type: 'function' as const,
    function: { name: 'get_weather', arguments: '{"q":"Paris"}' },
  };
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    user,
    { role: 'assistant', content: null, tool_calls: [call] }, // as OpenAI clients echo it: no reasoning_content
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
  ];
  const r = await client.chat.completions.create({ model: 'deepseek-chat', messages, max_tokens: 3 });
  assert.equal(r.choices[0]?.finish_reason, 'length');
  const sent = mocks[0]!.stats().lastRequest?.body as { messages: Record<string, unknown>[] };
  assert.equal(sent.messages[1]?.reasoning_content, '');
  // Straight to the simulator, the same history is what DeepSeek refuses.
  const direct = await fetch(`${mocks[0]!.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'deepseek-chat', messages }),
  });
  assert.equal(direct.status, 400);
});
