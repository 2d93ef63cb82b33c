import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { readCutStream, streamLookupCall } from '../helpers/responses-cases.ts';
import { answerText } from '../../src/mock/answer-text.ts';

const prompt = 'Tell me a story';
/** The mock answers 16 tokens when no limit is set, and then finishes with "stop". */
const DEFAULT_TOKENS = 16;

const reasonerConfig = (urls: string[]) => ({
  upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
  models: { chat: { routes: [{ upstream: 'm' }] }, 'deepseek-reasoner': { routes: [{ upstream: 'm' }] } },
});

test("responses.create answers text input with the upstream's exact text, instructions as the system prompt", async (t) => {
  const { client, mocks } = await startStack(t);
  const r = await client.responses.create({ model: 'chat', input: prompt, instructions: 'Be brief' });
  assert.equal(r.object, 'response');
  assert.match(r.id, /^resp_/);
  assert.equal(r.status, 'completed');
  assert.equal(r.output_text, answerText(1, `Be brief\n${prompt}`, DEFAULT_TOKENS));
  assert.equal(r.usage?.output_tokens, DEFAULT_TOKENS);
  assert.equal(mocks[0]?.stats().completed, 1);
  const cut = await client.responses.create({
    model: 'chat',
    input: [{ role: 'user', content: [{ type: 'input_text', text: prompt }] }],
    max_output_tokens: 5,
  });
  assert.equal(cut.status, 'incomplete');
  assert.equal(cut.incomplete_details?.reason, 'max_output_tokens');
  assert.equal(cut.output_text, answerText(1, prompt, 5));
});

test("a streamed response brings created, item, text delta and completed events, and the SDK's final response", async (t) => {
  const { client } = await startStack(t);
  const stream = await client.responses.create({ model: 'chat', input: prompt, stream: true });
  const types: string[] = [];
  let text = '';
  let completed: OpenAI.Responses.Response | undefined;
  for await (const e of stream) {
    types.push(e.type);
    if (e.type === 'response.output_text.delta') text += e.delta;
    if (e.type === 'response.completed') completed = e.response;
  }
  assert.equal(types[0], 'response.created');
  assert.ok(types.includes('response.output_item.added'));
  assert.equal(types.at(-1), 'response.completed');
  assert.equal(text, answerText(1, prompt, DEFAULT_TOKENS));
  assert.equal(
    completed?.output_text ??
      (completed?.output[0]?.type === 'message' && completed.output[0].content[0]?.type === 'output_text'
        ? completed.output[0].content[0].text
        : ''),
    text,
  );
  const helper = client.responses.stream({ model: 'chat', input: prompt });
  const final = await helper.finalResponse();
  assert.equal(final.output_text, text);
});

test('a function call round trip: streamed arguments, then function_call_output back, as items and by previous_response_id', async (t) => {
  const { client } = await startStack(t);
  const { args, done } = await streamLookupCall(client, prompt, 6);
  assert.deepEqual(
    JSON.parse(args),
    { q: answerText(1, prompt, 6) },
    "the streamed argument pieces join to the upstream's arguments",
  );
  const call = done?.output.find((o) => o.type === 'function_call');
  assert.ok(call !== undefined && call.type === 'function_call');
  assert.equal(call.name, 'lookup');
  assert.equal(call.arguments, args);

  // Round trip with the items sent back by the client.
  const byItems = await client.responses.create({
    model: 'chat',
    input: [
      { role: 'user', content: prompt },
      { type: 'function_call', call_id: call.call_id, name: 'lookup', arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'found it' },
    ],
  });
  assert.equal(
    byItems.output_text,
    answerText(1, `${prompt}\n\nfound it`, DEFAULT_TOKENS),
    'the assistant turn (a tool call only) is an empty line of the mock prompt',
  );
  // The same turn by previous_response_id: the stored conversation stands in for the items.
  const byId = await client.responses.create({
    model: 'chat',
    previous_response_id: done?.id ?? '',
    input: [{ type: 'function_call_output', call_id: call.call_id, output: 'found it' }],
  });
  assert.equal(byId.output_text, byItems.output_text);
  assert.equal(byId.previous_response_id, done?.id);
});

test('previous_response_id continues a stored conversation; GET /v1/responses/{id} returns it; store: false keeps nothing', async (t) => {
  const { client } = await startStack(t);
  const first = await client.responses.create({ model: 'chat', input: 'Hi', instructions: 'Be brief' });
  const second = await client.responses.create({ model: 'chat', input: prompt, previous_response_id: first.id });
  // Instructions are not carried over (as OpenAI does): the conversation is the first input, its answer, the new input.
  assert.equal(second.output_text, answerText(1, `Hi\n${first.output_text}\n${prompt}`, DEFAULT_TOKENS));
  const got = await client.responses.retrieve(second.id);
  assert.equal(got.id, second.id);
  assert.equal(got.output_text, second.output_text);
  const unstored = await client.responses.create({ model: 'chat', input: 'Hi', store: false });
  await assert.rejects(client.responses.retrieve(unstored.id), (e: unknown) => {
    assert.ok(e instanceof OpenAI.NotFoundError, `got ${String(e)}`);
    assert.equal((e.error as { code: string }).code, 'response_not_found');
    return true;
  });
  await assert.rejects(
    client.responses.create({ model: 'chat', input: 'Hi', previous_response_id: unstored.id }),
    OpenAI.NotFoundError,
  );
});

test('reasoning_content becomes a reasoning item with its summary, before the message', async (t) => {
  const { client } = await startStack(t, { config: reasonerConfig });
  const r = await client.responses.create({ model: 'deepseek-reasoner', input: prompt });
  assert.deepEqual(
    r.output.map((o) => o.type),
    ['reasoning', 'message'],
  );
  const reasoning = r.output[0];
  assert.ok(reasoning?.type === 'reasoning');
  assert.equal(reasoning.summary[0]?.text, answerText(2, prompt, 4));
  const stream = await client.responses.create({ model: 'deepseek-reasoner', input: prompt, stream: true });
  let summary = '';
  for await (const e of stream) if (e.type === 'response.reasoning_summary_text.delta') summary += e.delta;
  assert.equal(summary, reasoning.summary[0]?.text);
});

test("a cut stream ends with an in-band error event the SDK raises; malformed requests are 400s in OpenAI's shape", async (t) => {
  const { client, gw } = await startStack(t);
  const { text } = await readCutStream(client, prompt);
  assert.ok(text.length > 0);
  const bodies = [
    '',
    '[]',
    '{}',
    '{"model":"chat"}',
    '{"model":"chat","input":5}',
    '{"model":"chat","input":[1]}',
    '{"model":"chat","input":[{"type":"file_search_call"}]}',
    '{"model":"chat","input":"hi","tools":[{"type":"web_search"}]}',
    '{"model":"chat","input":"hi","max_output_tokens":0}',
    '{"model":"chat","input":"hi","previous_response_id":5}',
    '{"model":"chat","input":[{"role":"user","content":[{"type":"input_file"}]}]}',
    '{"model":"chat","input":"hi","tool_choice":7}',
    '{"model":"chat","input":"hi","stream":1}',
  ];
  for (const body of bodies) {
    const r = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(r.status, 400, body);
    const json = (await r.json()) as { error: { type: string; message: string } };
    assert.equal(json.error.type, 'invalid_request_error', body);
  }
  assert.equal((await fetch(`${gw.url}/v1/responses/resp_nope`)).status, 404);
  assert.equal((await fetch(`${gw.url}/v1/responses/../models`)).status, 200, 'fetch normalises the path: /v1/models');
});
