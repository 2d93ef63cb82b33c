import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';
import { coalescedPair } from '../helpers/responses-cases.ts';
import { answerText } from '../../src/mock/answer-text.ts';

/**
 * The answer cache and request coalescing serve the Responses door (translated to chat completions, keyed on the
 * chat body): a stored answer is a hit here, stream or not, each with a response of its own; identical requests in
 * flight together share one upstream call.
 */

const prompt = 'Tell me a story';
const cached = (urls: string[]) => ({
  upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
  models: { chat: { routes: [{ upstream: 'm' }] } },
  cache: { models: ['chat'] },
});
const ask = { model: 'chat', input: prompt, temperature: 0, max_output_tokens: 9 };

test('a Responses answer is stored: the identical request is a hit, as JSON and as a stream, with the exact text', async (t) => {
  const { client, mocks } = await startStack(t, { config: cached });
  const first = await client.responses.create(ask).withResponse();
  assert.equal(first.response.headers.get('x-spillway-cache'), 'miss');
  const second = await client.responses.create(ask).withResponse();
  assert.equal(second.response.headers.get('x-spillway-cache'), 'hit');
  assert.equal(second.data.output_text, answerText(1, prompt, 9));
  assert.notEqual(second.data.id, first.data.id, 'each answer is a response of its own (stored under its own id)');
  const stream = await client.responses.create({ ...ask, stream: true }).withResponse();
  assert.equal(stream.response.headers.get('x-spillway-cache'), 'hit');
  let text = '';
  let last = '';
  for await (const e of stream.data) {
    if (e.type === 'response.output_text.delta') text += e.delta;
    last = e.type;
  }
  assert.equal(text, answerText(1, prompt, 9));
  assert.equal(first.data.status, 'incomplete', 'cut at max_output_tokens');
  assert.equal(last, 'response.incomplete', 'the replayed stream ends as the answer did');
  const stored = await client.responses.retrieve(second.data.id);
  assert.equal(stored.output_text, answerText(1, prompt, 9));
  assert.equal(mocks[0]?.stats().completed, 1);
});

test('two identical Responses requests in flight at once share one upstream call', async (t) => {
  const { client, mocks } = await startStack(t, { mocks: [{ tokenMs: 15 }], config: cached });
  const mock = mocks[0];
  assert.ok(mock !== undefined);
  const [a, b] = await coalescedPair(client, mock, ask);
  assert.equal(a.output_text, answerText(1, prompt, 9));
  assert.equal(b.output_text, a.output_text);
  assert.equal(mock.stats().received, 1);
});
