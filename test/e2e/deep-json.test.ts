import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';
import { isOpenAIError } from '../helpers/raw-http.ts';

test('a deeply nested JSON body answers 400 invalid_request naming the depth limit, not a 500', async (t) => {
  const { gw, logs } = await startStack(t, {
    config: (urls) => ({
      upstreams: [{ name: 'mock0', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'mock0', model: 'chat' }] } },
      cache: { models: ['chat'] },
    }),
  });
  const depth = 100_000;
  for (const field of ['x', 'tools', 'messages_extra']) {
    const body = `{"model":"chat","messages":[{"role":"user","content":"hi"}],"${field}":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await r.text();
    assert.equal(r.status, 400, text);
    assert.ok(isOpenAIError(text));
    assert.match(text, /deeper than 128 levels/);
  }
  assert.equal(logs.records().filter((l) => l.msg === 'internal error').length, 0, 'no stack trace logged');
});
