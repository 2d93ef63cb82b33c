import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { Completion } from 'openai/resources/completions';
import { answerText, promptText } from '../../src/mock/answer-text.ts';
import { embeddingVector } from '../../src/mock/embeddings.ts';
import { mockFor, errorOf } from '../helpers/mock.ts';

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The `data:` payloads of an SSE body, parsed; "[DONE]" kept as the string. */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => {
      const d = e.slice('data: '.length);
      return d === '[DONE]' ? d : JSON.parse(d);
    });
}

type ChatJson = ChatCompletion & {
  choices: Array<{ message: ChatCompletionMessage & { reasoning_content?: string } }>;
};

async function chatJson(res: Response): Promise<ChatJson> {
  return (await res.json()) as ChatJson;
}

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function: { name?: string; arguments: string };
}

interface Chunk {
  choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: Record<string, number>;
  object: string;
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'deepseek-chat',
  messages: [{ role: 'user', content }],
  ...extra,
});

test('the answer is deterministic and recomputable from seed, prompt and max_tokens', async (t) => {
  const mock = await mockFor(t, { seed: 42 });
  const body = chat('What is Spillway?', { max_tokens: 7 });
  const first = await chatJson(await post(`${mock.url}/v1/chat/completions`, body));
  const second = await chatJson(await post(`${mock.url}/chat/completions`, body));
  const expected = answerText(42, promptText(body), 7);
  assert.equal(first.choices[0]?.message.content, expected);
  assert.equal(second.choices[0]?.message.content, expected);
  assert.equal(first.choices[0]?.finish_reason, 'length');
  assert.equal(first.object, 'chat.completion');
  assert.match(first.id, /^chatcmpl-/);
  assert.equal(first.model, 'deepseek-chat');
  assert.deepEqual(Object.keys(first.usage ?? {}).sort(), [
    'completion_tokens',
    'prompt_cache_hit_tokens',
    'prompt_cache_miss_tokens',
    'prompt_tokens',
    'total_tokens',
  ]);
  assert.equal(first.usage?.completion_tokens, 7);
});

test('without max_tokens the answer has the default length and finishes with stop', async (t) => {
  const mock = await mockFor(t, { defaultMaxTokens: 5 });
  const res = await chatJson(await post(`${mock.url}/v1/chat/completions`, chat('hi')));
  assert.equal(res.choices[0]?.message.content, answerText(1, 'hi', 5));
  assert.equal(res.choices[0]?.finish_reason, 'stop');
});

test('a stream sends the role, every token in order, the finish reason, then [DONE]', async (t) => {
  const mock = await mockFor(t);
  const res = await post(`${mock.url}/v1/chat/completions`, chat('stream me', { stream: true, max_tokens: 6 }));
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = sseData(await res.text());
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1) as Chunk[];
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
  const tokens = chunks.slice(1, -1).map((c) => c.choices[0]?.delta.content);
  assert.deepEqual(tokens, answerText(1, 'stream me', 6).split(/(?<= )/));
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
  assert.deepEqual(chunks.at(-1)?.choices[0]?.delta, {});
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.usage === undefined));
});

test('include_usage adds a final chunk with no choices and the usage', async (t) => {
  const mock = await mockFor(t);
  const res = await post(
    `${mock.url}/v1/chat/completions`,
    chat('u', { stream: true, max_tokens: 3, stream_options: { include_usage: true } }),
  );
  const events = sseData(await res.text());
  const usage = events.at(-2) as Chunk;
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage?.completion_tokens, 3);
  assert.equal(usage.usage?.total_tokens, (usage.usage?.prompt_tokens ?? 0) + 3);
});

test('a reasoner model thinks first: reasoning_content before the content', async (t) => {
  const mock = await mockFor(t);
  const body = chat('think', { model: 'deepseek-reasoner', max_tokens: 3 });
  const whole = await chatJson(await post(`${mock.url}/v1/chat/completions`, body));
  assert.equal(whole.choices[0]?.message.reasoning_content, answerText(2, 'think', 4));
  assert.equal(whole.choices[0]?.message.content, answerText(1, 'think', 3));
  const chunks = sseData(await (await post(`${mock.url}/v1/chat/completions`, { ...body, stream: true })).text()).slice(
    0,
    -1,
  ) as Chunk[];
  const deltas = chunks.map((c) => c.choices[0]?.delta ?? {});
  const firstContent = deltas.findIndex((d) => typeof d.content === 'string' && d.content !== '');
  const lastReasoning = deltas.findLastIndex((d) => d.reasoning_content !== undefined);
  assert.ok(lastReasoning >= 0 && lastReasoning < firstContent);
  assert.equal(
    deltas.map((d) => (typeof d.reasoning_content === 'string' ? d.reasoning_content : '')).join(''),
    answerText(2, 'think', 4),
  );
});

test('with tools the answer is a call to the first tool, its arguments streamed in pieces', async (t) => {
  const mock = await mockFor(t);
  const tools = [
    { type: 'function', function: { name: 'search', parameters: { type: 'object' } } },
    { type: 'function', function: { name: 'other' } },
  ];
  const body = chat('find it', { tools, max_tokens: 4 });
  const whole = await chatJson(await post(`${mock.url}/v1/chat/completions`, body));
  const call = whole.choices[0]?.message.tool_calls?.[0];
  assert.equal(whole.choices[0]?.finish_reason, 'tool_calls');
  assert.ok(call?.type === 'function');
  assert.equal(call.function.name, 'search');
  assert.deepEqual(JSON.parse(call.function.arguments), { q: answerText(1, 'find it', 4) });

  const chunks = sseData(await (await post(`${mock.url}/v1/chat/completions`, { ...body, stream: true })).text()).slice(
    0,
    -1,
  ) as Chunk[];
  const calls = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as ToolCallDelta[] | undefined) ?? []);
  assert.ok(calls.length > 2, 'arguments split over several chunks');
  assert.equal(calls[0]?.index, 0);
  assert.match(calls[0]?.id ?? '', /^call_/);
  assert.equal(calls[0]?.type, 'function');
  assert.deepEqual(calls[0]?.function, { name: 'search', arguments: '' });
  assert.ok(calls.slice(1).every((c) => c.id === undefined && c.function.name === undefined));
  assert.deepEqual(JSON.parse(calls.map((c) => c.function.arguments).join('')), { q: answerText(1, 'find it', 4) });
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'tool_calls');
});

test('text completions answer in the text_completion shape, stream and non-stream', async (t) => {
  const mock = await mockFor(t);
  const whole = (await (
    await post(`${mock.url}/v1/completions`, { model: 'm', prompt: 'once', max_tokens: 4 })
  ).json()) as Completion;
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0]?.text, answerText(1, 'once', 4));
  const events = sseData(
    await (await post(`${mock.url}/completions`, { model: 'm', prompt: 'once', max_tokens: 4, stream: true })).text(),
  );
  assert.equal(events.at(-1), '[DONE]');
  const texts = (events.slice(0, -1) as Array<{ choices: Array<{ text: string }> }>)
    .map((e) => e.choices[0]?.text)
    .join('');
  assert.equal(texts, answerText(1, 'once', 4));
});

test('the official OpenAI SDK works against it: chat, stream, embeddings, models', async (t) => {
  const mock = await mockFor(t, { model: 'deepseek-chat' });
  const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const whole = await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'sdk' }],
    max_tokens: 5,
  });
  assert.equal(whole.choices[0]?.message.content, answerText(1, 'sdk', 5));
  const stream = await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'sdk' }],
    max_tokens: 5,
    stream: true,
  });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, answerText(1, 'sdk', 5));
  // The SDK asks for base64 by default and decodes it.
  const emb = await client.embeddings.create({ model: 'emb', input: ['a', 'b'] });
  assert.equal(emb.data.length, 2);
  assert.deepEqual(emb.data[1]?.embedding, embeddingVector(1, 'b'));
  const floats = await client.embeddings.create({ model: 'emb', input: 'a', encoding_format: 'float' });
  assert.deepEqual(floats.data[0]?.embedding, embeddingVector(1, 'a'));
  assert.equal(embeddingVector(1, 'a').length, 8);
  const models = await client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['deepseek-chat'],
  );
});

test('unknown paths get 404 and bad JSON 400, both as OpenAI errors', async (t) => {
  const mock = await mockFor(t);
  const missing = await post(`${mock.url}/v1/nothing`, {});
  assert.equal(missing.status, 404);
  assert.equal((await errorOf(missing)).type, 'invalid_request_error');
  const bad = await fetch(`${mock.url}/v1/chat/completions`, { method: 'POST', body: '{"messages": [' });
  assert.equal(bad.status, 400);
  assert.match((await errorOf(bad)).message, /invalid JSON/);
  const noMessages = await post(`${mock.url}/v1/chat/completions`, { model: 'x' });
  assert.equal(noMessages.status, 400);
  assert.equal((await errorOf(noMessages)).param, 'messages');
  assert.deepEqual(mock.stats().rejected, { not_found: 1, bad_request: 2 });
});
