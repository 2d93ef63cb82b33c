import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { answerText } from '../../src/mock/answer-text.ts';
import { mockFor } from '../helpers/mock.ts';

/** The simulator's Anthropic Messages API (mock/messages.ts), asked directly with the official Anthropic client. */
const prompt = 'Tell me a story';

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

test("the Messages API is served where the simulator's api says: anthropic, both (a deepseek default, also under /anthropic), not openai", async (t) => {
  const openai = await mockFor(t);
  const anthropicOnly = await mockFor(t, { api: 'anthropic' });
  const deepseek = await mockFor(t, { kind: 'deepseek' });
  const ask = { model: 'm', max_tokens: 3, messages: [{ role: 'user', content: prompt }] };
  assert.equal((await post(`${openai.url}/v1/messages`, ask)).status, 404);
  assert.equal(
    (await post(`${anthropicOnly.url}/v1/chat/completions`, { messages: [{ role: 'user', content: prompt }] })).status,
    404,
  );
  for (const path of ['/v1/messages', '/anthropic/v1/messages']) {
    const r = await post(`${deepseek.url}${path}`, ask);
    assert.equal(r.status, 200, path);
    const m = (await r.json()) as { type: string; content: { type: string; text: string }[] };
    assert.equal(m.type, 'message');
    assert.equal(m.content[0]?.text, answerText(1, prompt, 3));
  }
  assert.equal(
    (await post(`${deepseek.url}/v1/chat/completions`, { messages: [{ role: 'user', content: prompt }] })).status,
    200,
  );
});

test('the official Anthropic client reads its answers: create, stream, tool_use and thinking', async (t) => {
  const mock = await mockFor(t, { api: 'anthropic', apiKeys: ['sk-a'] });
  const client = new Anthropic({ baseURL: mock.url, apiKey: 'sk-a', maxRetries: 0 });
  const m = await client.messages.create({
    model: 'm',
    max_tokens: 5,
    system: 'Be brief',
    messages: [{ role: 'user', content: prompt }],
  });
  assert.deepEqual(m.content, [{ type: 'text', text: answerText(1, `Be brief\n${prompt}`, 5) }]);
  assert.equal(m.stop_reason, 'max_tokens');
  const s = client.messages.stream({
    model: 'm',
    max_tokens: 5,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [{ role: 'user', content: prompt }],
  });
  const final = await s.finalMessage();
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  assert.equal(await s.finalText(), answerText(1, prompt, 5));
  const tools: Anthropic.Tool[] = [{ name: 'lookup', input_schema: { type: 'object' } }];
  const use = await client.messages.create({
    model: 'm',
    max_tokens: 4,
    tools,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.equal(use.stop_reason, 'tool_use');
  assert.deepEqual(use.content[0]?.type === 'tool_use' ? use.content[0].input : undefined, {
    q: answerText(1, prompt, 4),
  });
  // The key is read from x-api-key: another one is refused, in Anthropic's shape.
  const wrong = new Anthropic({ baseURL: mock.url, apiKey: 'sk-b', maxRetries: 0 });
  await assert.rejects(
    wrong.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: prompt }] }),
    Anthropic.AuthenticationError,
  );
});

test("busy is 529 overloaded_error with retry-after, and a cut stream ends with an error event, in Anthropic's shape", async (t) => {
  const busy = await mockFor(t, { api: 'anthropic', slots: 0, reject: 529, retryAfterS: 3 });
  const r = await post(`${busy.url}/v1/messages`, {
    model: 'm',
    max_tokens: 3,
    messages: [{ role: 'user', content: prompt }],
  });
  assert.equal(r.status, 529);
  assert.equal(r.headers.get('retry-after'), '3');
  assert.deepEqual(await r.json(), { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  const limited = await post(`${busy.url}/v1/messages`, {
    model: 'm',
    max_tokens: 3,
    messages: [{ role: 'user', content: prompt }],
    mock: { status: 429 },
  });
  assert.equal(((await limited.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
  const queued = await mockFor(t, {
    api: 'anthropic',
    slots: 0,
    queueSize: 1,
    queueTimeoutMs: 50,
    keepAliveMs: 10,
    reject: 529,
  });
  const s = await post(`${queued.url}/v1/messages`, {
    model: 'm',
    max_tokens: 3,
    stream: true,
    messages: [{ role: 'user', content: prompt }],
  });
  const text = await s.text();
  assert.match(text, /: keep-alive\n\n/);
  assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"/);
});
