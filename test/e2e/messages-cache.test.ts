import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { once } from 'node:events';
import { startStack, type StackOptions } from '../helpers/stack.ts';
import { answerText } from '../../src/mock/answer-text.ts';
import { nativeFirstThenOpenAi, prompt } from '../helpers/messages-cases.ts';

/**
 * The answer cache and request coalescing serve the Messages door's passed-through requests too (a DeepSeek
 * upstream on `api: auto` is one): keyed on the Messages body, stored as a Messages answer, replayed as Messages
 * JSON or a Messages stream — never served to a chat client, nor a chat answer to them.
 */

async function anthropicStack(t: TestContext, opts: StackOptions) {
  const s = await startStack(t, opts);
  const anthropic = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  return { ...s, anthropic };
}

/** One DeepSeek-kind upstream on `api: auto` (Messages passed through under /anthropic), its model cached. */
const deepseekCached = (tokenMs = 0): StackOptions => ({
  mocks: [{ kind: 'deepseek', tokenMs }],
  config: (urls) => ({
    upstreams: [{ name: 'ds', url: urls[0], kind: 'deepseek' }],
    models: { chat: { routes: [{ upstream: 'ds', model: 'deepseek-v4-flash' }] } },
    cache: { models: ['chat'] },
  }),
});

const ask = {
  model: 'chat',
  max_tokens: 9,
  temperature: 0,
  messages: [{ role: 'user' as const, content: prompt }],
};

/** The event types of a stream and its response, read with the official client. */
async function streamed(anthropic: Anthropic) {
  const stream = anthropic.messages.stream(ask);
  const types: string[] = [];
  stream.on('streamEvent', (e) => types.push(e.type));
  const final = await stream.finalMessage();
  const { response } = await stream.withResponse();
  return { final, types, label: response.headers.get('x-spillway-cache') };
}

test('a passed-through Messages answer is stored: the identical request is a hit, as JSON and as a Messages stream', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, deepseekCached());
  const first = await anthropic.messages.create(ask).withResponse();
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  assert.equal(first.response.headers.get('x-spillway-upstream'), 'ds');
  const second = await anthropic.messages.create(ask).withResponse();
  assert.equal(second.response.headers.get('x-spillway-cache'), 'hit');
  assert.deepEqual(second.data, first.data, 'the same message, id and usage included');
  assert.deepEqual(second.data.content, [{ type: 'text', text: answerText(1, prompt, 9) }]);
  const s = await streamed(anthropic);
  assert.equal(s.label, 'hit');
  assert.deepEqual(s.types, [
    'message_start',
    'content_block_start',
    'content_block_delta',
    'content_block_stop',
    'message_delta',
    'message_stop',
  ]);
  assert.deepEqual(s.final.content, first.data.content);
  assert.equal(s.final.model, 'chat');
  assert.equal(s.final.stop_reason, first.data.stop_reason);
  assert.deepEqual(s.final.usage, first.data.usage);
  assert.equal(mocks[0]?.stats().completed, 1, 'the upstream was asked once');
});

test('a passed-through stream is assembled and stored: the next stream and the next JSON request are hits', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, deepseekCached());
  const miss = await streamed(anthropic);
  assert.equal(miss.label, 'miss');
  const hit = await streamed(anthropic);
  assert.equal(hit.label, 'hit');
  assert.deepEqual(hit.final.content, miss.final.content);
  assert.equal(hit.final.content[0]?.type === 'text' ? hit.final.content[0].text : '', answerText(1, prompt, 9));
  assert.deepEqual(hit.final.usage, miss.final.usage);
  const json = await anthropic.messages.create(ask).withResponse();
  assert.equal(json.response.headers.get('x-spillway-cache'), 'hit');
  assert.deepEqual(json.data.content, miss.final.content);
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('two identical passed-through requests in flight at once share one upstream call', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, deepseekCached(15));
  const mock = mocks[0];
  assert.ok(mock !== undefined);
  const asked = once(mock.events, 'request');
  const leader = anthropic.messages.stream(ask);
  await asked; // the first is at the upstream: the second finds its flight
  const joiner = anthropic.messages.create(ask).withResponse();
  const [a, b] = await Promise.all([leader.finalMessage(), joiner]);
  const labels = [
    (await leader.withResponse()).response.headers.get('x-spillway-cache'),
    b.response.headers.get('x-spillway-cache'),
  ];
  assert.deepEqual(labels, ['miss', 'coalesced']);
  assert.deepEqual(b.data.content, a.content);
  assert.equal(b.data.content[0]?.type === 'text' ? b.data.content[0].text : '', answerText(1, prompt, 9));
  assert.equal(mock.stats().received, 1, 'one upstream call for both');
  // And two streams at once: both get the events live from the one call.
  const asked2 = once(mock.events, 'request');
  const other = { ...ask, max_tokens: 8 };
  const s1 = anthropic.messages.stream(other);
  await asked2;
  const s2 = anthropic.messages.stream(other);
  const [t1, t2] = await Promise.all([s1.finalText(), s2.finalText()]);
  assert.equal(t1, answerText(1, prompt, 8));
  assert.equal(t2, t1);
  assert.equal((await s2.withResponse()).response.headers.get('x-spillway-cache'), 'coalesced');
  assert.equal(mock.stats().received, 2);
});

test('a Messages answer is never served to a chat client, nor a chat answer to a Messages one', async (t) => {
  const { anthropic, client, mocks } = await anthropicStack(t, deepseekCached());
  await anthropic.messages.create(ask);
  const chat = await client.chat.completions
    .create({ model: 'chat', max_tokens: 9, temperature: 0, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(chat.response.headers.get('x-spillway-cache'), 'miss');
  assert.equal(chat.data.choices[0]?.message.content, answerText(1, prompt, 9));
  const again = await anthropic.messages.create(ask).withResponse();
  assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(again.data.type, 'message');
  assert.equal(mocks[0]?.stats().completed, 2, 'one call per door');
});

test('an answer translated on an OpenAI-only route of the same model is stored in Messages form too', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, {
    mocks: [{ api: 'anthropic', slots: 0, reject: 529 }, {}],
    config: (urls) => ({ ...nativeFirstThenOpenAi(urls), cache: { models: ['chat'] } }),
  });
  const first = await anthropic.messages.create(ask).withResponse();
  assert.equal(first.response.headers.get('x-spillway-upstream'), 'openai');
  const s = await streamed(anthropic);
  assert.equal(s.label, 'hit');
  assert.deepEqual(s.final.content, first.data.content);
  assert.equal(s.final.content[0]?.type === 'text' ? s.final.content[0].text : '', answerText(1, prompt, 9));
  assert.equal(mocks[1]?.stats().completed, 1);
});

test('cache-control: no-cache asks the upstream again; a sampled request is not cached', async (t) => {
  const { anthropic, mocks } = await anthropicStack(t, deepseekCached());
  await anthropic.messages.create(ask);
  const fresh = await anthropic.messages.create(ask, { headers: { 'cache-control': 'no-cache' } }).withResponse();
  assert.equal(fresh.response.headers.get('x-spillway-cache'), 'miss');
  const sampled = { ...ask, temperature: 1 };
  for (let i = 0; i < 2; i++) {
    const r = await anthropic.messages.create(sampled).withResponse();
    assert.equal(r.response.headers.get('x-spillway-cache'), null);
  }
  assert.equal(mocks[0]?.stats().completed, 4);
});
