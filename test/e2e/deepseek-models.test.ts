import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedUpstream, startStack } from '../helpers/stack.ts';
import { zeroConfig, ZERO_CONFIG_MODELS } from '../../src/config/zero-config.ts';

/** An upstream that records every body it got and answers a one-word chat completion naming the model it was sent. */
async function recordingUpstream(t: Parameters<typeof fixedUpstream>[0]) {
  const bodies: Record<string, unknown>[] = [];
  const up = await fixedUpstream(t, (_req, res, body) => {
    const b = JSON.parse(body) as Record<string, unknown>;
    bodies.push(b);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'x',
        object: 'chat.completion',
        created: 1,
        model: b.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  });
  return { url: up.url, bodies };
}

test('the zero-config start serves the V4 models and lists them with the retired names in /v1/models', async (t) => {
  const { client } = await startStack(t, { config: (urls) => zeroConfig({}, urls[0]) });
  const ids = (await client.models.list()).data.map((m) => m.id);
  assert.deepEqual(ids, [...ZERO_CONFIG_MODELS]);
  assert.deepEqual(ids, ['deepseek-v4-flash', 'deepseek-v4-pro', 'deepseek-chat', 'deepseek-reasoner']);
  const r = await client.chat.completions.create({
    model: 'deepseek-v4-pro',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 2,
  });
  assert.equal(r.model, 'deepseek-v4-pro');
});

test('the retired deepseek-chat and deepseek-reasoner are sent as deepseek-v4-flash with thinking off and on; the client sees its own name', async (t) => {
  const up = await recordingUpstream(t);
  const { client } = await startStack(t, { mocks: [], config: () => zeroConfig({}, up.url) });
  const chat = await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'hi' }],
  });
  const reasoner = await client.chat.completions.create({
    model: 'deepseek-reasoner',
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(chat.model, 'deepseek-chat');
  assert.equal(reasoner.model, 'deepseek-reasoner');
  assert.deepEqual(
    up.bodies.map((b) => [b.model, b.thinking]),
    [
      ['deepseek-v4-flash', { type: 'disabled' }],
      ['deepseek-v4-flash', { type: 'enabled' }],
    ],
  );
});

test('a client that sets thinking itself keeps its choice on an alias; a current name is sent unchanged', async (t) => {
  const up = await recordingUpstream(t);
  const { client } = await startStack(t, { mocks: [], config: () => zeroConfig({}, up.url) });
  const thinking = { type: 'enabled' };
  await client.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'hi' }],
    thinking,
  } as Parameters<typeof client.chat.completions.create>[0]);
  await client.chat.completions.create({ model: 'deepseek-v4-flash', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(up.bodies[0]?.thinking, thinking);
  assert.deepEqual(up.bodies[1], { model: 'deepseek-v4-flash', messages: [{ role: 'user', content: 'hi' }] });
});
