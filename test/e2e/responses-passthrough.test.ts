import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { fixedUpstream, startStack, type StackOptions } from '../helpers/stack.ts';
import { readCutStream, streamLookupCall } from '../helpers/responses-cases.ts';
import { answerText, answerTokens } from '../../src/mock/answer-text.ts';
import type { MockServer } from '../../src/mock/server.ts';

/**
 * The Responses door passed through to upstreams that serve OpenAI's Responses API themselves (`api: responses`),
 * with the official OpenAI client: the same promises as the translated door (responses-sdk.test.ts), Spillway's own
 * store spanning passed-through and translated turns, and the pipeline around the untranslated request.
 */

const prompt = 'Tell me a story';
/** The mock answers 16 tokens when no limit is set. */
const DEFAULT_TOKENS = 16;

/** The paths each mock was asked, in order, with the bodies. */
function seen(mock: MockServer): { path: string; body: Record<string, unknown> }[] {
  const out: { path: string; body: Record<string, unknown> }[] = [];
  mock.events.on('request', (r: { path: string; body: Record<string, unknown> }) => out.push(r));
  return out;
}

/** One model "chat" routed to one mock that serves the Responses API (declared so), under another model name. */
const responsesOnly = (urls: string[]) => ({
  upstreams: [{ name: 'native', url: `${urls[0]}/v1`, api: 'responses' }],
  models: { chat: { routes: [{ upstream: 'native', model: 'gpt-mock' }] } },
});

/** The text of a response's message items (the SDK adds `output_text` to the responses it returns, not to events). */
function outputText(r: OpenAI.Responses.Response | undefined): string {
  return (r?.output ?? [])
    .flatMap((o) => (o.type === 'message' ? o.content : []))
    .map((c) => (c.type === 'output_text' ? c.text : ''))
    .join('');
}

async function stack(t: TestContext, opts: StackOptions) {
  return startStack(t, opts);
}

test('responses.create is passed through to a Responses upstream: the mock sees /v1/responses, the client the exact text', async (t) => {
  const { client, mocks, gw } = await stack(t, { mocks: [{ responses: true }], config: responsesOnly });
  const asked = seen(mocks[0] as MockServer);
  const r = await client.responses
    .create({ model: 'chat', input: prompt, instructions: 'Be brief', max_output_tokens: 12 })
    .withResponse();
  assert.deepEqual(
    asked.map((a) => a.path),
    ['/v1/responses'],
  );
  assert.equal(asked[0]?.body.model, 'gpt-mock', "the route's model name");
  assert.equal(asked[0]?.body.store, false, 'the upstream keeps nothing: Spillway owns the state');
  const res = r.data;
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'native');
  assert.match(res.id, /^resp_/);
  assert.equal(res.model, 'chat', 'the public model name');
  assert.equal((res as unknown as { store: unknown }).store, true, "the client's store, not the stateless request's");
  assert.equal(res.status, 'incomplete');
  assert.equal(res.output_text, answerText(1, `Be brief\n${prompt}`, 12));
  assert.equal(res.usage?.output_tokens, 12);
  // The pipeline's accounting reads the passed-through usage.
  const logged = gw.requestLog.recent({ limit: 1 })[0];
  assert.equal(logged?.path, '/v1/responses');
  assert.equal(logged?.upstream, 'native');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /spillway_tokens_total\{model="chat",upstream="native",kind="completion"\} 12\b/);
  // Stored under Spillway's id: GET finds it.
  const got = await client.responses.retrieve(res.id);
  assert.equal(got.output_text, res.output_text);
});

test("a passed-through stream is relayed event by event with the exact text, under Spillway's id", async (t) => {
  const { client, mocks } = await stack(t, { mocks: [{ responses: true }], config: responsesOnly });
  const asked = seen(mocks[0] as MockServer);
  const stream = await client.responses.create({ model: 'chat', input: prompt, stream: true });
  const types: string[] = [];
  let text = '';
  let created: string | undefined;
  let completed: OpenAI.Responses.Response | undefined;
  const seqs: number[] = [];
  for await (const e of stream) {
    types.push(e.type);
    seqs.push(e.sequence_number);
    if (e.type === 'response.created') created = e.response.id;
    if (e.type === 'response.output_text.delta') text += e.delta;
    if (e.type === 'response.completed') completed = e.response;
  }
  assert.equal(asked[0]?.path, '/v1/responses');
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  assert.equal(types.filter((x) => x === 'response.output_text.delta').length, DEFAULT_TOKENS, 'one event per token');
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i),
  );
  assert.equal(text, answerText(1, prompt, DEFAULT_TOKENS));
  assert.equal(completed?.id, created);
  assert.equal(completed?.model, 'chat');
  assert.equal(outputText(completed), text);
  const got = await client.responses.retrieve(created ?? '');
  assert.equal(got.output_text, text);
});

test('a function call round trip through passthrough: streamed arguments, then function_call_output by previous_response_id', async (t) => {
  const { client, mocks } = await stack(t, { mocks: [{ responses: true }], config: responsesOnly });
  const asked = seen(mocks[0] as MockServer);
  const { args, done } = await streamLookupCall(client, prompt, 6);
  assert.deepEqual(JSON.parse(args), { q: answerText(1, prompt, 6) });
  const call = done?.output.find((o) => o.type === 'function_call');
  assert.ok(call?.type === 'function_call');
  assert.equal(call.name, 'lookup');
  assert.equal(call.arguments, args);
  const next = await client.responses.create({
    model: 'chat',
    previous_response_id: done?.id ?? '',
    input: [{ type: 'function_call_output', call_id: call.call_id, output: 'found it' }],
  });
  // The stored conversation went upstream as items (the mock keeps no responses: it refuses previous_response_id).
  const items = asked[1]?.body.input as Record<string, unknown>[];
  assert.equal(asked[1]?.body.previous_response_id, undefined);
  assert.deepEqual(
    items.map((i) => i.type),
    ['message', 'function_call', 'function_call_output'],
  );
  assert.deepEqual(items[1], { type: 'function_call', call_id: call.call_id, name: 'lookup', arguments: args });
  assert.equal(next.output_text, answerText(1, `${prompt}\n\nfound it`, DEFAULT_TOKENS));
  assert.equal(next.previous_response_id, done?.id);
});

test('previous_response_id spans a passed-through turn and a translated one, both ways', async (t) => {
  // Model "native" passes through; model "plain" goes to an OpenAI-only mock (translated).
  const { client, mocks } = await stack(t, {
    mocks: [{ responses: true }, {}],
    config: (urls) => ({
      upstreams: [
        { name: 'native', url: `${urls[0]}/v1`, api: 'responses' },
        { name: 'plain', url: `${urls[1]}/v1` },
      ],
      models: { native: { routes: [{ upstream: 'native' }] }, plain: { routes: [{ upstream: 'plain' }] } },
    }),
  });
  const nativeSeen = seen(mocks[0] as MockServer);
  const plainSeen = seen(mocks[1] as MockServer);
  const first = await client.responses.create({ model: 'native', input: 'Hi', instructions: 'Be brief' });
  const second = await client.responses.create({ model: 'plain', input: prompt, previous_response_id: first.id });
  const third = await client.responses.create({ model: 'native', input: 'More', previous_response_id: second.id });
  assert.equal(nativeSeen.map((s) => s.path).join(), '/v1/responses,/v1/responses');
  assert.equal(plainSeen[0]?.path, '/v1/chat/completions');
  // Every turn answers as the whole conversation (instructions not carried over, as OpenAI does) would be answered.
  assert.equal(first.output_text, answerText(1, 'Be brief\nHi', DEFAULT_TOKENS));
  assert.equal(second.output_text, answerText(1, `Hi\n${first.output_text}\n${prompt}`, DEFAULT_TOKENS));
  assert.equal(
    third.output_text,
    answerText(1, `Hi\n${first.output_text}\n${prompt}\n${second.output_text}\nMore`, DEFAULT_TOKENS),
  );
  assert.equal(third.previous_response_id, second.id);
  assert.equal((await client.responses.retrieve(third.id)).output_text, third.output_text);
});

test('a failing Responses upstream fails over to a translated route before the first byte', async (t) => {
  const broken = await fixedUpstream(t, (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"boom","type":"server_error"}}');
  });
  const { client, mocks } = await stack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'native', url: `${broken.url}/v1`, api: 'responses' },
        { name: 'plain', url: `${urls[0]}/v1` },
      ],
      // The passed-through route first, the translated one as its fallback: the order is the config's.
      models: {
        chat: { routes: [{ upstream: 'native' }], fallback: ['chat-plain'] },
        'chat-plain': { routes: [{ upstream: 'plain' }] },
      },
    }),
  });
  const plainSeen = seen(mocks[0] as MockServer);
  for (const stream of [false, true]) {
    const before = broken.hits();
    let text = '';
    if (stream) {
      const s = await client.responses.create({ model: 'chat', input: prompt, stream: true });
      for await (const e of s) if (e.type === 'response.output_text.delta') text += e.delta;
    } else text = (await client.responses.create({ model: 'chat', input: prompt })).output_text;
    assert.equal(text, answerText(1, prompt, DEFAULT_TOKENS), `stream ${stream}`);
    assert.ok(broken.hits() - before <= 1);
  }
  assert.ok(broken.hits() >= 1, 'the Responses upstream was tried');
  assert.ok(plainSeen.every((s) => s.path === '/v1/chat/completions'));
});

test('a passed-through stream cut mid-answer ends with an in-band error event the SDK raises', async (t) => {
  const { client } = await stack(t, { mocks: [{ responses: true }], config: responsesOnly });
  const { text, types } = await readCutStream(client, prompt);
  assert.equal(text, answerTokens(1, prompt, DEFAULT_TOKENS).slice(0, 3).join(''));
  assert.ok(!types.includes('response.completed'));
});

test("an upstream's in-band error or response.failed before content, or a 200 that is not a response, is retried elsewhere", async (t) => {
  const created = (seq: number): string =>
    `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: seq, response: { id: 'resp_up', object: 'response', status: 'in_progress', output: [] } })}\n\n`;
  const answers = [
    // A stream that fails before its first content, the Responses API's two ways.
    `${created(0)}event: error\ndata: {"type":"error","sequence_number":1,"code":"server_error","message":"boom"}\n\n`,
    `${created(0)}event: response.failed\ndata: {"type":"response.failed","sequence_number":1,"response":{"id":"resp_up","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}}\n\n`,
  ];
  let n = 0;
  const broken = await fixedUpstream(t, (req, res) => {
    const stream = !req.url?.includes('json');
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(answers[n++ % answers.length]);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"object":"chat.completion","choices":[]}');
    }
  });
  const { client, mocks } = await stack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'native', url: `${broken.url}/v1`, api: 'responses' },
        { name: 'json', url: `${broken.url}/json/v1`, api: 'responses' },
        { name: 'plain', url: `${urls[0]}/v1` },
      ],
      models: {
        chat: { routes: [{ upstream: 'native' }], fallback: ['chat-plain'] },
        json: { routes: [{ upstream: 'json' }], fallback: ['chat-plain'] },
        'chat-plain': { routes: [{ upstream: 'plain' }] },
      },
    }),
  });
  for (let i = 0; i < answers.length; i++) {
    const s = await client.responses.create({ model: 'chat', input: prompt, stream: true }).withResponse();
    let text = '';
    for await (const e of s.data) if (e.type === 'response.output_text.delta') text += e.delta;
    assert.equal(text, answerText(1, prompt, DEFAULT_TOKENS), `answer ${i}`);
    assert.equal(s.response.headers.get('x-spillway-upstream'), 'plain');
  }
  const r = await client.responses.create({ model: 'json', input: prompt }).withResponse();
  assert.equal(r.data.output_text, answerText(1, prompt, DEFAULT_TOKENS));
  assert.equal(r.response.headers.get('x-spillway-upstream'), 'plain');
  assert.equal(broken.hits(), answers.length + 1);
  assert.equal(mocks[0]?.stats().completed, answers.length + 1);
});

test("a model served only by chat upstreams translates Responses requests (auto passes through only OpenAI's own API)", async (t) => {
  const { client, mocks } = await stack(t, {
    mocks: [{ responses: true, kind: 'vllm' }],
    config: (urls) => ({
      upstreams: [{ name: 'vllm', url: `${urls[0]}/v1`, kind: 'vllm' }],
      models: { chat: { routes: [{ upstream: 'vllm' }] } },
    }),
  });
  const asked = seen(mocks[0] as MockServer);
  const r = await client.responses.create({ model: 'chat', input: prompt });
  assert.equal(r.output_text, answerText(1, prompt, DEFAULT_TOKENS));
  assert.deepEqual(
    asked.map((a) => a.path),
    ['/v1/chat/completions'],
  );
});
