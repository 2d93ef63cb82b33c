import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { answerText } from '../../src/mock/answer-text.ts';
import { mockFor } from '../helpers/mock.ts';

/** The simulator's OpenAI Responses API (mock/responses.ts), asked directly with the official OpenAI client. */
const prompt = 'Tell me a story';

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

test('the Responses API is served only with the responses option, beside chat completions', async (t) => {
  const plain = await mockFor(t);
  const served = await mockFor(t, { responses: true });
  assert.equal((await post(`${plain.url}/v1/responses`, { input: prompt })).status, 404);
  for (const path of ['/v1/responses', '/responses']) {
    const r = await post(`${served.url}${path}`, { model: 'm', input: prompt, max_output_tokens: 3 });
    assert.equal(r.status, 200, path);
  }
  const chat = await post(`${served.url}/v1/chat/completions`, { messages: [{ role: 'user', content: prompt }] });
  assert.equal(chat.status, 200);
});

test('the official OpenAI client reads its answers: the same text as chat, a stream, a function call, reasoning', async (t) => {
  const mock = await mockFor(t, { responses: true });
  const client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const r = await client.responses.create({ model: 'm', input: prompt, instructions: 'Be brief' });
  const chat = await client.chat.completions.create({
    model: 'm',
    messages: [
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: prompt },
    ],
  });
  assert.equal(r.output_text, chat.choices[0]?.message.content);
  assert.equal(r.status, 'completed');
  assert.equal(r.usage?.output_tokens, 16);
  const cut = await client.responses.create({ model: 'm', input: prompt, max_output_tokens: 4 });
  assert.equal(cut.status, 'incomplete');
  assert.equal(cut.output_text, answerText(1, prompt, 4));

  const stream = client.responses.stream({ model: 'm', input: prompt, max_output_tokens: 5 });
  let text = '';
  stream.on('response.output_text.delta', (e) => (text += e.delta));
  const final = await stream.finalResponse();
  assert.equal(text, answerText(1, prompt, 5));
  assert.equal(final.output_text, text);

  const tools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'lookup', parameters: {}, strict: false }];
  const called = await client.responses.create({ model: 'm', input: prompt, tools, max_output_tokens: 3 });
  const call = called.output[0];
  assert.ok(call?.type === 'function_call');
  assert.equal(call.name, 'lookup');
  assert.deepEqual(JSON.parse(call.arguments), { q: answerText(1, prompt, 3) });
  const reasoned = await client.responses.create({ model: 'deepseek-reasoner', input: prompt });
  assert.deepEqual(
    reasoned.output.map((o) => o.type),
    ['reasoning', 'message'],
  );
});

test('it keeps no responses: previous_response_id is a 400 in OpenAI shape', async (t) => {
  const mock = await mockFor(t, { responses: true });
  const r = await post(`${mock.url}/v1/responses`, { model: 'm', input: prompt, previous_response_id: 'resp_x' });
  assert.equal(r.status, 400);
  const body = (await r.json()) as { error: { param: string } };
  assert.equal(body.error.param, 'previous_response_id');
});
