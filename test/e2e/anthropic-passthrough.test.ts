import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { FIRST_CHOICE, fixedUpstream, startStack, type StackOptions } from '../helpers/stack.ts';
import { answerText, answerTokens } from '../../src/mock/answer-text.ts';
import type { MockServer } from '../../src/mock/server.ts';
import {
  isOverloaded529,
  nativeFirstThenOpenAi,
  multiTurnWithSystem,
  prompt,
  streamedToolCall,
  toolResultTurn,
} from '../helpers/messages-cases.ts';

/**
 * The Messages door passed through to upstreams that serve the Messages API themselves (`api: anthropic`, or a
 * deepseek kind under `/anthropic`), with the official Anthropic client: the same promises as the translated door
 * (anthropic-sdk.test.ts), and the pipeline around the untranslated request.
 */

async function anthropicStack(t: TestContext, opts: StackOptions) {
  const s = await startStack(t, opts);
  const anthropic = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  return { ...s, anthropic };
}

/** The paths each mock was asked, in order. */
function paths(mock: MockServer): string[] {
  const seen: string[] = [];
  mock.events.on('request', (r: { path: string }) => seen.push(r.path));
  return seen;
}

/** One model "chat" routed to one Messages-only mock. */
const nativeOnly = (urls: string[]) => ({
  upstreams: [{ name: 'native', url: urls[0], api: 'anthropic' }],
  models: { chat: { routes: [{ upstream: 'native', model: 'claude-mock' }] } },
});

test('messages.create is passed through to a Messages upstream untranslated: exact text, the public model name, usage', async (t) => {
  const { anthropic, mocks, gw } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  const seen = paths(mocks[0] as MockServer);
  const r = await anthropic.messages
    .create({ model: 'chat', max_tokens: 12, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  const m = r.data;
  assert.deepEqual(seen, ['/v1/messages']);
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'native');
  assert.equal(m.model, 'chat');
  assert.deepEqual(m.content, [{ type: 'text', text: answerText(1, prompt, 12) }]);
  assert.equal(m.stop_reason, 'max_tokens');
  assert.equal(m.usage.output_tokens, 12);
  assert.ok(m.usage.input_tokens > 0);
  // The pipeline's accounting reads the passed-through usage, as it reads a chat answer's.
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_tokens_total\{model="chat",upstream="native",kind="completion"\} 12\b/);
  const logged = gw.requestLog.recent({ limit: 1 })[0];
  assert.equal(logged?.path, '/v1/messages');
  assert.equal(logged?.upstream, 'native');
  assert.equal(logged?.completionTokens, 12);
});

test('a multi-turn conversation with a system prompt, create and stream alike, event by event as the upstream sent them', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  const { events, final } = await multiTurnWithSystem(anthropic, 'chat');
  assert.equal(final.model, 'chat', 'the upstream model name is renamed in message_start');
  assert.deepEqual(events.slice(0, 2), ['message_start', 'content_block_start']);
  assert.equal(
    events.filter((e) => e === 'content_block_delta').length,
    20,
    'one delta per token, as the upstream streamed them',
  );
  assert.equal(mocks[0]?.stats().completed, 2);
});

test("a streamed tool call's input_json_delta pieces parse to the arguments the Messages upstream sent", async (t) => {
  const { anthropic } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  const { use, partial } = await streamedToolCall(anthropic, 'chat', 8);
  assert.deepEqual(JSON.parse(partial), { q: answerText(1, prompt, 8) });
  assert.deepEqual(use.input, { q: answerText(1, prompt, 8) });
  const whole = await anthropic.messages.create({
    model: 'chat',
    max_tokens: 8,
    messages: [{ role: 'user', content: prompt }],
    tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
  });
  const block = whole.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(block?.type === 'tool_use' ? block.input : undefined, { q: answerText(1, prompt, 8) });
  // The result goes back as a tool_result block, untranslated.
  await toolResultTurn(anthropic, 'chat', use);
});

test('thinking blocks come through with their signature, in create and stream', async (t) => {
  const { anthropic } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  const ask = {
    model: 'chat',
    max_tokens: 6,
    thinking: { type: 'enabled' as const, budget_tokens: 1024 },
    messages: [{ role: 'user' as const, content: prompt }],
  };
  const m = await anthropic.messages.create(ask);
  assert.deepEqual(
    m.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  assert.deepEqual(m.content[0], { type: 'thinking', thinking: answerText(2, prompt, 4), signature: 'mock-signature' });
  const stream = anthropic.messages.stream(ask);
  let thinking = '';
  stream.on('thinking', (d) => (thinking += d));
  const final = await stream.finalMessage();
  assert.equal(thinking, answerText(2, prompt, 4));
  assert.equal(
    final.content[0]?.type === 'thinking' ? final.content[0].signature : '',
    'mock-signature',
    'a translation could not keep the signature',
  );
  assert.equal(final.content[1]?.type === 'text' ? final.content[1].text : '', answerText(1, prompt, 6));
});

test("an unknown model is a 404 in Anthropic's shape; an upstream's own 4xx comes back in Anthropic's shape with its message", async (t) => {
  const { anthropic } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  await assert.rejects(
    anthropic.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.NotFoundError, `got ${String(e)}`);
      assert.deepEqual(Object.keys(e.error as object).sort(), ['error', 'type']);
      assert.equal((e.error as { error: { type: string } }).error.type, 'not_found_error');
      return true;
    },
  );
  await assert.rejects(
    anthropic.messages.create({
      model: 'chat',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
      mock: { status: 422 },
    } as Anthropic.MessageCreateParamsNonStreaming),
    (e: unknown) => {
      assert.ok(e instanceof Anthropic.UnprocessableEntityError, `got ${String(e)}`);
      assert.equal((e.error as { type: string }).type, 'error');
      assert.equal((e.error as { error: { type: string; message: string } }).error.type, 'invalid_request_error');
      return true;
    },
  );
});

test('a native upstream answering 529 is pushback: the request fails over to another Messages upstream, the client never sees it', async (t) => {
  const { anthropic, mocks, gw } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic', slots: 0, reject: 529 }, { api: 'anthropic' }],
    config: (urls) => ({
      upstreams: [
        { name: 'busy', url: urls[0], api: 'anthropic' },
        { name: 'free', url: urls[1], api: 'anthropic' },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'busy', weight: FIRST_CHOICE },
            { upstream: 'free', weight: 1 },
          ],
        },
      },
    }),
  });
  const r = await anthropic.messages
    .create({ model: 'chat', max_tokens: 9, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'free');
  assert.equal(r.data.content[0]?.type === 'text' ? r.data.content[0].text : '', answerText(1, prompt, 9));
  assert.equal(mocks[0]?.stats().rejected.full, 1, 'the busy upstream was asked first and answered 529');
  const text = await anthropic.messages
    .stream({ model: 'chat', max_tokens: 9, messages: [{ role: 'user', content: prompt }] })
    .finalText();
  assert.equal(text, answerText(1, prompt, 9));
  assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_pushbacks_total\{upstream="busy"\} [1-9]/);
});

test("when every native upstream is busy the client hears 529 overloaded_error with retry-after, in Anthropic's shape", async (t) => {
  const { anthropic } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic', slots: 0, reject: 529 }],
    config: nativeOnly,
  });
  await assert.rejects(
    anthropic.messages.create(
      { model: 'chat', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-spillway-deadline-ms': '1500' } },
    ),
    isOverloaded529,
  );
});

test('a passed-through stream cut after its first tokens ends with an in-band error event the SDK raises', async (t) => {
  const { anthropic } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
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
  assert.equal(text, answerTokens(1, prompt, 30).slice(0, 5).join(''));
});

test('a passed-through stream that stalls before its first content is given up by the stall detection and answered by another upstream', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic', faults: { stallBeforeFirstToken: 1 } }, { api: 'anthropic' }],
    config: (urls) => ({
      upstreams: [
        { name: 'stalls', url: urls[0], api: 'anthropic', timeouts: { first_token: '300ms' } },
        { name: 'works', url: urls[1], api: 'anthropic', timeouts: { first_token: '300ms' } },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'stalls', weight: FIRST_CHOICE },
            { upstream: 'works', weight: 1 },
          ],
        },
      },
    }),
  });
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 6,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.equal(await stream.finalText(), answerText(1, prompt, 6));
  assert.equal((await stream.withResponse()).response.headers.get('x-spillway-upstream'), 'works');
  assert.equal(mocks[0]?.stats().received, 1, 'the stalled upstream was tried first');
});

test('a mixed route: Messages requests pass through on the native upstream and are translated on the OpenAI-only one; chat requests never reach the native one', async (t) => {
  const { anthropic, client, mocks } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic', slots: 0, reject: 529 }, {}],
    config: nativeFirstThenOpenAi,
  });
  const native = paths(mocks[0] as MockServer);
  const openai = paths(mocks[1] as MockServer);
  // The native upstream is busy: the Messages request is translated on the OpenAI-only one, same exact text.
  const r = await anthropic.messages
    .create({ model: 'chat', max_tokens: 7, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'openai');
  assert.deepEqual(r.data.content, [{ type: 'text', text: answerText(1, prompt, 7) }]);
  const streamed = await anthropic.messages
    .stream({ model: 'chat', max_tokens: 7, messages: [{ role: 'user', content: prompt }] })
    .finalText();
  assert.equal(streamed, answerText(1, prompt, 7));
  assert.ok(native.length >= 1 && native.every((p) => p === '/v1/messages'), `native asked: ${native.join(', ')}`);
  assert.ok(openai.every((p) => p === '/v1/chat/completions'));
  // Chat completions never go to the Messages-only upstream, however it is weighted.
  const before = native.length;
  for (let i = 0; i < 3; i++) {
    const c = await client.chat.completions.create({
      model: 'chat',
      max_tokens: 7,
      messages: [{ role: 'user', content: prompt }],
    });
    assert.equal(c.choices[0]?.message.content, answerText(1, prompt, 7));
  }
  assert.equal(native.length, before);
});

test('a mixed route the other way: the OpenAI-only upstream busy, a Messages request passes through on the native one', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, {
    mocks: [{ slots: 0 }, { api: 'anthropic' }],
    config: (urls) => ({
      upstreams: [
        { name: 'openai', url: `${urls[0]}/v1` },
        { name: 'native', url: urls[1], api: 'anthropic' },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'openai', weight: FIRST_CHOICE },
            { upstream: 'native', weight: 1 },
          ],
        },
      },
    }),
  });
  const native = paths(mocks[1] as MockServer);
  const r = await anthropic.messages
    .create({
      model: 'chat',
      max_tokens: 7,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: prompt }],
    })
    .withResponse();
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'native');
  assert.equal(r.data.content[0]?.type === 'thinking' ? r.data.content[0].signature : '', 'mock-signature');
  assert.deepEqual(native, ['/v1/messages']);
});

test('a model served only by Messages upstreams refuses chat completions with messages_api_only', async (t) => {
  const { client } = await anthropicStack(t, { mocks: [{ api: 'anthropic' }], config: nativeOnly });
  await assert.rejects(
    client.chat.completions.create({ model: 'chat', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    (e: unknown) => {
      assert.equal((e as { status?: number }).status, 400);
      assert.equal((e as { code?: string }).code, 'messages_api_only');
      return true;
    },
  );
});

test('a deepseek upstream takes Messages requests on its /anthropic path, with x-api-key; api: openai keeps them translated', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, {
    mocks: [
      { kind: 'deepseek', apiKeys: ['sk-ds'] },
      { kind: 'deepseek', apiKeys: ['sk-ds'] },
    ],
    config: (urls) => ({
      upstreams: [
        { name: 'ds', url: urls[0], kind: 'deepseek', api_key: 'sk-ds' },
        { name: 'ds-chat', url: urls[1], kind: 'deepseek', api: 'openai', api_key: 'sk-ds' },
      ],
      models: {
        chat: { routes: [{ upstream: 'ds', model: 'deepseek-v4-flash' }] },
        translated: { routes: [{ upstream: 'ds-chat', model: 'deepseek-v4-flash' }] },
      },
    }),
  });
  const native = paths(mocks[0] as MockServer);
  const translated = paths(mocks[1] as MockServer);
  const m = await anthropic.messages.create({
    model: 'chat',
    max_tokens: 5,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.deepEqual(native, ['/anthropic/v1/messages']);
  assert.equal(m.content[0]?.type === 'text' ? m.content[0].text : '', answerText(1, prompt, 5));
  const t2 = await anthropic.messages.create({
    model: 'translated',
    max_tokens: 5,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.deepEqual(translated, ['/chat/completions']);
  assert.equal(t2.content[0]?.type === 'text' ? t2.content[0].text : '', answerText(1, prompt, 5));
});

test('a request the translation cannot carry (a document block, a server tool) still passes through when only Messages upstreams serve the model', async (t) => {
  const { gw, mocks } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic' }, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'native', url: urls[0], api: 'anthropic' },
        { name: 'openai', url: `${urls[1]}/v1` },
      ],
      models: {
        chat: { routes: [{ upstream: 'native' }] },
        mixed: { routes: [{ upstream: 'native' }, { upstream: 'openai' }] },
      },
    }),
  });
  const body = (model: string) =>
    JSON.stringify({
      model,
      max_tokens: 5,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'a long text' } },
            { type: 'text', text: prompt },
          ],
        },
      ],
    });
  const post = (model: string) =>
    fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'some-beta' },
      body: body(model),
    });
  const seen: { headers: Record<string, unknown>; body: unknown }[] = [];
  mocks[0]?.events.on('request', (r: { headers: Record<string, unknown>; body: unknown }) => seen.push(r));
  const ok = await post('chat');
  assert.equal(ok.status, 200);
  const m = (await ok.json()) as { content: { type: string; name: string; input: unknown }[] };
  // The mock calls the first tool it is given: the server tool reached it.
  assert.equal(m.content[0]?.name, 'web_search');
  assert.deepEqual(m.content[0]?.input, { q: answerText(1, prompt, 5) });
  assert.equal(
    (seen[0]?.body as { tools: { type: string }[] }).tools[0]?.type,
    'web_search_20250305',
    'sent as the client wrote it',
  );
  assert.equal(seen[0]?.headers['anthropic-beta'], 'some-beta');
  assert.equal(seen[0]?.headers['anthropic-version'], '2023-06-01');
  // A model that may land on an OpenAI-only upstream cannot take it: the translation's 400, in Anthropic's shape.
  const refused = await post('mixed');
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
});

test('an in-band overloaded_error before any content is pushback: the stream is answered by another upstream, whole', async (t) => {
  const busy = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_x","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":0}}}\n\n',
    );
    res.end('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n');
  });
  const { anthropic, gw } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic' }],
    config: (urls) => ({
      upstreams: [
        { name: 'busy', url: busy.url, api: 'anthropic' },
        { name: 'free', url: urls[0], api: 'anthropic' },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'busy', weight: FIRST_CHOICE },
            { upstream: 'free', weight: 1 },
          ],
        },
      },
    }),
  });
  const stream = anthropic.messages.stream({
    model: 'chat',
    max_tokens: 6,
    messages: [{ role: 'user', content: prompt }],
  });
  const events: string[] = [];
  stream.on('streamEvent', (e) => events.push(e.type));
  assert.equal(await stream.finalText(), answerText(1, prompt, 6));
  assert.equal(
    events.filter((e) => e === 'message_start').length,
    1,
    "the busy upstream's opening never reached the client",
  );
  assert.equal(busy.hits(), 1);
  assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /spillway_pushbacks_total\{upstream="busy"\} 1\b/);
});

test("a native upstream's 200 that is not a Messages answer is retried elsewhere, never relayed", async (t) => {
  const broken = await fixedUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  });
  const { anthropic } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic' }],
    config: (urls) => ({
      upstreams: [
        { name: 'broken', url: broken.url, api: 'anthropic' },
        { name: 'works', url: urls[0], api: 'anthropic' },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'broken', weight: FIRST_CHOICE },
            { upstream: 'works', weight: 1 },
          ],
        },
      },
    }),
  });
  const r = await anthropic.messages
    .create({ model: 'chat', max_tokens: 4, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'works');
  assert.equal(r.data.content[0]?.type === 'text' ? r.data.content[0].text : '', answerText(1, prompt, 4));
  assert.equal(broken.hits(), 1);
});
