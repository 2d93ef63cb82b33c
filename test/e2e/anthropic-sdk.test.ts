import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, type StackOptions } from '../helpers/stack.ts';
import { answerText, answerTokens } from '../../src/mock/answer-text.ts';
import {
  isOverloaded529,
  multiTurnWithSystem,
  prompt,
  streamedToolCall,
  toolResultTurn,
} from '../helpers/messages-cases.ts';

/** The official Anthropic client pointed at the gateway's Messages door, SDK retries off. */
async function anthropicStack(t: TestContext, opts: StackOptions = {}) {
  const s = await startStack(t, opts);
  const anthropic = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  return { ...s, anthropic };
}

const reasonerConfig = (urls: string[]) => ({
  upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
  models: { chat: { routes: [{ upstream: 'm' }] }, 'deepseek-reasoner': { routes: [{ upstream: 'm' }] } },
});

test("messages.create through the Messages door answers the OpenAI-only upstream's exact text", async (t) => {
  const { anthropic, mocks } = await anthropicStack(t);
  const m = await anthropic.messages.create({
    model: 'chat',
    max_tokens: 12,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.equal(m.model, 'chat');
  assert.match(m.id, /^msg_/);
  assert.deepEqual(m.content, [{ type: 'text', text: answerText(1, prompt, 12) }]);
  assert.equal(m.stop_reason, 'max_tokens');
  assert.equal(m.usage.output_tokens, 12);
  assert.ok(m.usage.input_tokens > 0);
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('a multi-turn conversation with a system prompt reaches the upstream as chat messages, create and stream alike', async (t) => {
  const { anthropic } = await anthropicStack(t);
  const { events } = await multiTurnWithSystem(anthropic, 'chat');
  assert.ok(events.includes('content_block_delta'));
});

test("a streamed tool call's input_json_delta pieces parse to the arguments the upstream sent", async (t) => {
  const { anthropic, client } = await anthropicStack(t);
  const { use, partial } = await streamedToolCall(anthropic, 'chat', 8);
  // The same question on the chat door: the arguments the OpenAI-only upstream produces.
  const chat = await client.chat.completions.create({
    model: 'chat',
    max_tokens: 8,
    messages: [{ role: 'user', content: prompt }],
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
  });
  const call = chat.choices[0]?.message.tool_calls?.[0];
  const args = JSON.parse(call?.type === 'function' ? call.function.arguments : '{}') as unknown;
  assert.deepEqual(JSON.parse(partial), args, "the streamed pieces join to the upstream's arguments");
  assert.deepEqual(use.input, args);
  assert.deepEqual(args, { q: answerText(1, prompt, 8) });
  // The tool's result goes back as a tool message; the next answer is text again.
  await toolResultTurn(anthropic, 'chat', use);
});

test('reasoning_content comes back as thinking blocks, before the text, in create and stream', async (t) => {
  const { anthropic } = await anthropicStack(t, { config: reasonerConfig });
  const ask = { model: 'deepseek-reasoner', max_tokens: 6, messages: [{ role: 'user' as const, content: prompt }] };
  const m = await anthropic.messages.create(ask);
  assert.deepEqual(
    m.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  const thinking = m.content[0]?.type === 'thinking' ? m.content[0].thinking : '';
  assert.equal(thinking, answerText(2, prompt, 4));
  const stream = anthropic.messages.stream(ask);
  let streamedThinking = '';
  stream.on('thinking', (delta) => (streamedThinking += delta));
  const final = await stream.finalMessage();
  assert.equal(streamedThinking, thinking);
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  assert.equal(final.content[1]?.type === 'text' ? final.content[1].text : '', answerText(1, prompt, 6));
});

test("an unknown model is a 404 in Anthropic's error shape, raised by the SDK as NotFoundError", async (t) => {
  const { anthropic, gw } = await anthropicStack(t);
  await assert.rejects(
    anthropic.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.NotFoundError, `got ${String(e)}`);
      assert.equal(e.status, 404);
      assert.deepEqual(Object.keys(e.error as object).sort(), ['error', 'type']);
      assert.equal((e.error as { type: string; error: { type: string } }).error.type, 'not_found_error');
      return true;
    },
  );
  // Under DeepSeek's base URL for Anthropic clients too.
  const r = await fetch(`${gw.url}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: '{"model":"chat"',
  });
  assert.equal(r.status, 400);
  assert.deepEqual(await r.json(), {
    type: 'error',
    error: { type: 'invalid_request_error', message: await errorMessage(gw.url) },
  });
});

async function errorMessage(url: string): Promise<string> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"chat"',
  });
  return ((await r.json()) as { error: { message: string } }).error.message;
}

test("malformed Messages bodies get a 400 invalid_request_error in Anthropic's shape, never a 500", async (t) => {
  const { gw } = await anthropicStack(t);
  const bodies = [
    '',
    'null',
    '[]',
    '"x"',
    '{}',
    '{"model":"chat","max_tokens":5}',
    '{"model":"chat","max_tokens":5,"messages":[1]}',
    '{"model":"chat","max_tokens":"5","messages":[{"role":"user","content":"hi"}]}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":[null]}]}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"stream":"yes"}',
    '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"sometimes"}}',
  ];
  for (const body of bodies) {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const r = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const json = (await r.json()) as { type: string; error: { type: string; message: string } };
      if (path.endsWith('count_tokens') && r.status === 200) continue; // count_tokens needs no max_tokens
      assert.equal(r.status, 400, `${path} ${body}`);
      assert.equal(json.type, 'error');
      assert.equal(json.error.type, 'invalid_request_error', body);
    }
  }
  const wrong = await fetch(`${gw.url}/v1/messages`);
  assert.equal(wrong.status, 405);
});

test('count_tokens answers an estimate without reaching the upstream', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t);
  const n = await anthropic.messages.countTokens({
    model: 'chat',
    messages: [{ role: 'user', content: 'x'.repeat(400) }],
  });
  assert.equal(n.input_tokens, 100);
  assert.equal(mocks[0]?.stats().completed ?? 0, 0);
  await assert.rejects(
    anthropic.messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
    Anthropic.NotFoundError,
  );
});

test('a stream cut after its first tokens ends with an in-band error event the SDK raises', async (t) => {
  const { anthropic } = await anthropicStack(t);
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 30,
    messages: [{ role: 'user', content: prompt }],
    mock: { reset_after_tokens: 5 },
  } as Anthropic.MessageStreamParams);
  let text = '';
  stream.on('text', (d) => (text += d));
  await assert.rejects(stream.finalMessage(), (e: unknown) => {
    assert.ok(e instanceof Anthropic.APIError, `got ${String(e)}`);
    assert.equal((e.error as { error: { type: string } }).error.type, 'api_error');
    assert.match(e.message, /interrupted/);
    return true;
  });
  assert.equal(text, answerTokens(1, prompt, 30).slice(0, 5).join(''), 'the five tokens before the cut arrived');
});

test('an overloaded upstream is 529 overloaded_error with retry-after; a rate limit is 429 rate_limit_error', async (t) => {
  const { anthropic } = await anthropicStack(t);
  await assert.rejects(
    anthropic.messages.create(
      {
        model: 'chat',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
        mock: { status: 429, retry_after_s: 7 },
      } as Anthropic.MessageCreateParamsNonStreaming,
      { headers: { 'x-spillway-deadline-ms': '3000' } },
    ),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.RateLimitError, `got ${String(e)}`);
      assert.equal((e.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.ok(Number(e.headers?.get('retry-after')) >= 1);
      return true;
    },
  );
  // A fresh gateway: the 429 above rests that upstream for its Retry-After.
  const other = await anthropicStack(t);
  await assert.rejects(
    other.anthropic.messages.create(
      {
        model: 'chat',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
        mock: { status: 503 },
      } as Anthropic.MessageCreateParamsNonStreaming,
      { headers: { 'x-spillway-deadline-ms': '3000' } },
    ),
    isOverloaded529,
  );
});

test('the cache serves the Messages door: an answer stored from the chat door is a hit here, and the other way round', async (t) => {
  const { anthropic, client, mocks } = await anthropicStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const first = await client.chat.completions
    .create({ model: 'chat', max_tokens: 7, temperature: 0, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  // temperature 0 makes the request cacheable (cache-policy.ts); this SDK's types no longer list it, the API takes it.
  const ask = {
    model: 'chat',
    max_tokens: 7,
    temperature: 0,
    messages: [{ role: 'user', content: prompt }],
  } as Anthropic.MessageCreateParamsNonStreaming;
  const hit = await anthropic.messages.create(ask).withResponse();
  assert.equal(hit.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(hit.data.content[0]?.type === 'text' ? hit.data.content[0].text : '', answerText(1, prompt, 7));
  const streamed = anthropic.messages.stream(ask);
  assert.equal(await streamed.finalText(), answerText(1, prompt, 7), 'a stored answer replays as a Messages stream');
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('identical requests through the chat door and the Messages door in flight together share one upstream call', async (t) => {
  const { anthropic, gw, mocks } = await anthropicStack(t, {
    mocks: [{ tokenMs: 15 }],
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const ask = { model: 'chat', max_tokens: 10, temperature: 0, messages: [{ role: 'user' as const, content: prompt }] };
  const chat = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask, stream: true, stream_options: { include_usage: true } }),
  });
  const started = await chat;
  assert.equal(started.headers.get('x-spillway-cache'), 'miss');
  const messages = anthropic.messages.stream(ask);
  const [text, raw] = await Promise.all([messages.finalText(), started.text()]);
  assert.equal(text, answerText(1, prompt, 10));
  assert.match(raw, /data: \[DONE\]/);
  const label = (await messages.withResponse()).response.headers.get('x-spillway-cache');
  assert.ok(
    label === 'coalesced' || label === 'hit',
    `the Messages request joined the flight (or found its stored answer): ${String(label)}`,
  );
  assert.equal(mocks[0]?.stats().completed, 1, 'one upstream call served both doors');
});

test('a Messages stream cut mid-answer on an upstream that can continue it is continued: the client gets the whole answer', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, {
    mocks: [{ kind: 'vllm', continueAfterAbort: true }],
    config: (urls) => ({
      upstreams: [{ name: 'm', url: `${urls[0]}/v1`, kind: 'vllm' }],
      models: { chat: { routes: [{ upstream: 'm' }] } },
    }),
  });
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 12,
    messages: [{ role: 'user', content: prompt }],
    mock: { reset_after_tokens: 5 },
  } as Anthropic.MessageStreamParams);
  const final = await stream.finalMessage();
  assert.equal(final.content[0]?.type === 'text' ? final.content[0].text : '', answerText(1, prompt, 12));
  assert.equal(final.stop_reason, 'max_tokens');
  assert.ok((mocks[0]?.stats().received ?? 0) > 1, 'the rest came from continuation requests');
});
