import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_CHOICE, startStack } from '../helpers/stack.ts';
import { coalescedPair } from '../helpers/responses-cases.ts';
import { answerText } from '../../src/mock/answer-text.ts';

/**
 * The answer cache and request coalescing serve a Responses request that may be passed through to a Responses
 * upstream as they serve a translated one (responses-cache.test.ts): its answer is kept in Responses form, keyed on
 * its own (stateless) body, and every client gets a response of its own, under its own id, in Spillway's store.
 */

const prompt = 'Tell me a story';
const native = (tokenMs = 0) => ({
  mocks: [{ responses: true, tokenMs }],
  config: (urls: string[]) => ({
    upstreams: [{ name: 'native', url: `${urls[0]}/v1`, api: 'responses' }],
    models: { chat: { routes: [{ upstream: 'native' }] } },
    cache: { models: ['chat'] },
  }),
});
const ask = { model: 'chat', input: prompt, temperature: 0, max_output_tokens: 9 };

test('a passed-through Responses answer is stored: the identical request is a hit, as JSON and as a stream', async (t) => {
  const { client, mocks } = await startStack(t, native());
  const first = await client.responses.create(ask).withResponse();
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  assert.equal(first.response.headers.get('x-spillway-upstream'), 'native');
  const second = await client.responses.create(ask).withResponse();
  assert.equal(second.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(second.data.output_text, answerText(1, prompt, 9));
  assert.notEqual(second.data.id, first.data.id, 'each answer is a response of its own (stored under its own id)');
  assert.equal(second.data.status, 'incomplete', 'cut at max_output_tokens, as the upstream answered');
  const stream = await client.responses.create({ ...ask, stream: true }).withResponse();
  assert.equal(stream.response.headers.get('x-spillway-cache'), 'hit');
  let text = '';
  const types: string[] = [];
  let id = '';
  for await (const e of stream.data) {
    types.push(e.type);
    if (e.type === 'response.created') id = e.response.id;
    if (e.type === 'response.output_text.delta') text += e.delta;
  }
  assert.equal(text, answerText(1, prompt, 9));
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.incomplete', 'the replayed stream ends as the answer did');
  assert.ok(id !== first.data.id && id !== second.data.id);
  assert.equal((await client.responses.retrieve(second.data.id)).output_text, answerText(1, prompt, 9));
  assert.equal((await client.responses.retrieve(id)).output_text, answerText(1, prompt, 9));
  assert.equal(mocks[0]?.stats().completed, 1, 'the upstream was asked once');
});

test('a passed-through stream is stored from its final event: the next JSON request is a hit', async (t) => {
  const { client, mocks } = await startStack(t, native());
  const s = await client.responses.create({ ...ask, stream: true }).withResponse();
  assert.equal(s.response.headers.get('x-spillway-cache'), 'miss');
  for await (const e of s.data) void e;
  const json = await client.responses.create(ask).withResponse();
  assert.equal(json.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(json.data.output_text, answerText(1, prompt, 9));
  assert.equal(json.data.model, 'chat');
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('two identical passed-through Responses requests in flight at once share one upstream call', async (t) => {
  const { client, mocks } = await startStack(t, native(15));
  const mock = mocks[0];
  assert.ok(mock !== undefined);
  const [a, b] = await coalescedPair(client, mock, ask);
  assert.equal(a.output_text, answerText(1, prompt, 9));
  assert.equal(b.output_text, a.output_text);
  assert.notEqual(b.id, a.id);
  assert.equal((await client.responses.retrieve(b.id)).output_text, a.output_text);
  assert.equal(mock.stats().received, 1);
});

test('a Responses-form answer is never served to a chat client, nor a chat answer to a passed-through request', async (t) => {
  const { client, mocks } = await startStack(t, native());
  await client.responses.create(ask);
  const chat = await client.chat.completions
    .create({ model: 'chat', max_tokens: 9, temperature: 0, messages: [{ role: 'user', content: prompt }] })
    .withResponse();
  assert.equal(chat.response.headers.get('x-spillway-cache'), 'miss');
  assert.equal(chat.data.choices[0]?.message.content, answerText(1, prompt, 9));
  const again = await client.responses.create(ask).withResponse();
  assert.equal(again.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(again.data.object, 'response');
  assert.equal(mocks[0]?.stats().completed, 2, 'one call per form');
});

test('an answer translated on an OpenAI-only route of the same model is stored in Responses form too', async (t) => {
  const { client, mocks } = await startStack(t, {
    // The Responses upstream is full (it refuses every request with 503): the chat-only route answers.
    mocks: [{ responses: true, slots: 0, reject: 503 }, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'native', url: `${urls[0]}/v1`, api: 'responses' },
        { name: 'plain', url: `${urls[1]}/v1` },
      ],
      models: {
        chat: {
          routes: [
            { upstream: 'native', weight: FIRST_CHOICE },
            { upstream: 'plain', weight: 1 },
          ],
        },
      },
      cache: { models: ['chat'] },
    }),
  });
  const first = await client.responses.create(ask).withResponse();
  assert.equal(first.response.headers.get('x-spillway-upstream'), 'plain');
  const s = await client.responses.create({ ...ask, stream: true }).withResponse();
  assert.equal(s.response.headers.get('x-spillway-cache'), 'hit');
  let text = '';
  for await (const e of s.data) if (e.type === 'response.output_text.delta') text += e.delta;
  assert.equal(text, first.data.output_text);
  assert.equal(text, answerText(1, prompt, 9));
  assert.equal(mocks[1]?.stats().completed, 1);
});
