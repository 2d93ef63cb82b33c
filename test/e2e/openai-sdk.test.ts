import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const messages = [{ role: 'user' as const, content: 'Tell me a story' }];
const prompt = 'Tell me a story';

test('a non-stream chat completion comes back complete through the official SDK', async (t) => {
  const { client, mocks } = await startStack(t);
  const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 12 });
  assert.equal(r.choices[0]?.message.content, answerText(1, prompt, 12));
  assert.equal(r.model, 'chat');
  assert.equal(r.usage?.completion_tokens, 12);
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('a stream brings every token in order and ends with [DONE]', async (t) => {
  const { client } = await startStack(t, { mocks: [{ tokenMs: 1 }] });
  const stream = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 40, stream: true });
  let text = '';
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish ??= chunk.choices[0]?.finish_reason;
  }
  assert.equal(text, answerText(1, prompt, 40));
  assert.equal(finish, 'length');
});

test('the raw stream ends with data: [DONE] and carries the public model name', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { 'public-name': { routes: [{ upstream: 'm', model: 'deepseek-ai/DeepSeek-V3' }] } },
    }),
  });
  const res = await fetch(`${gw.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'public-name', messages, max_tokens: 3, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.equal(res.headers.get('x-spillway-upstream'), 'm');
  assert.equal(res.headers.get('x-spillway-attempts'), '1');
  const body = await res.text();
  assert.ok(body.endsWith('data: [DONE]\n\n'), body.slice(-60));
  assert.doesNotMatch(body, /DeepSeek-V3/);
  assert.match(body, /"model":"public-name"/);
});

test('reasoning_content deltas and include_usage come back untouched', async (t) => {
  const { client } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { 'deepseek-reasoner': { routes: [{ upstream: 'm' }] } },
    }),
  });
  const stream = await client.chat.completions.create({
    model: 'deepseek-reasoner',
    messages,
    max_tokens: 5,
    stream: true,
    stream_options: { include_usage: true },
  });
  let reasoning = '';
  let content = '';
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    // DeepSeek's extension of the delta: not in the SDK's types, passed through by the gateway.
    const delta: { content?: string | null; reasoning_content?: string } | undefined = chunk.choices[0]?.delta;
    reasoning += delta?.reasoning_content ?? '';
    content += delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(reasoning.length > 0, 'reasoning_content arrived');
  assert.equal(content, answerText(1, prompt, 5));
  assert.ok(
    (usage?.completion_tokens ?? 0) >= 5,
    'completion tokens include the reasoning tokens, as DeepSeek counts them',
  );
  assert.equal(typeof (usage as unknown as Record<string, unknown>).prompt_cache_hit_tokens, 'number');
});

test('tool-call deltas come back intact and the tools field reaches the upstream untouched', async (t) => {
  const { client, mocks } = await startStack(t);
  const tools = [
    {
      type: 'function' as const,
      function: {
        name: 'lookup',
        description: 'find',
        parameters: { type: 'object', properties: { q: { type: 'string' } } },
      },
    },
  ];
  const stream = await client.chat.completions.create({ model: 'chat', messages, tools, stream: true, user: 'u-1' });
  const calls: Record<number, { name: string; args: string }> = {};
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
      const c = (calls[tc.index] ??= { name: '', args: '' });
      c.name += tc.function?.name ?? '';
      c.args += tc.function?.arguments ?? '';
    }
    finish ??= chunk.choices[0]?.finish_reason;
  }
  assert.equal(calls[0]?.name, 'lookup');
  assert.doesNotThrow(() => JSON.parse(calls[0]?.args ?? ''));
  assert.equal(finish, 'tool_calls');
  const seen = mocks[0]?.stats().lastRequest?.body as Record<string, unknown>;
  assert.deepEqual(seen.tools, tools);
  assert.equal(seen.user, 'u-1');
});

test('completions, embeddings and the model list are served', async (t) => {
  const { client } = await startStack(t);
  const c = await client.completions.create({ model: 'chat', prompt: 'abc', max_tokens: 4 });
  assert.equal(c.choices[0]?.text, answerText(1, 'abc', 4));
  const e = await client.embeddings.create({ model: 'chat', input: ['a', 'b'] });
  assert.equal(e.data.length, 2);
  const models = await client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['chat'],
  );
});

test('a client configured with DeepSeek-style base URL (no /v1) works', async (t) => {
  const { gw } = await startStack(t);
  const client = new OpenAI({ baseURL: gw.url, apiKey: 'x', maxRetries: 0 });
  const r = await client.chat.completions.create({ model: 'chat', messages, max_tokens: 2 });
  assert.equal(r.choices[0]?.message.content, answerText(1, prompt, 2));
});
