import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startStack } from '../helpers/stack.ts';

const messages = [{ role: 'user', content: 'hi' }];

test('model_not_found lists only the models the key may use, and /admin/config masks key_sha256', async (t) => {
  const limited = 'gw-key-limited-123456';
  const digest = createHash('sha256').update(limited).digest('hex');
  const { gw } = await startStack(t, {
    config: (urls) => ({
      auth: {
        keys: [
          { key_sha256: digest, tenant: 'beta', models: ['chat'] },
          { key: 'gw-key-all-1234567', tenant: 'alpha' },
        ],
      },
      tenants: { alpha: {}, beta: {} },
      upstreams: [{ name: 'm', url: `${urls[0]}/v1` }],
      models: { chat: { routes: [{ upstream: 'm' }] }, 'secret-model': { routes: [{ upstream: 'm' }] } },
    }),
  });
  const ask = async (key: string) => {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'nope', messages }),
    });
    assert.equal(r.status, 404);
    return ((await r.json()) as { error: { message: string; code: string } }).error;
  };
  const e = await ask(limited);
  assert.equal(e.code, 'model_not_found');
  assert.match(e.message, /Available models: chat\./);
  assert.doesNotMatch(e.message, /secret-model/);
  assert.match((await ask('gw-key-all-1234567')).message, /Available models: chat, secret-model\./);

  const config = await (await fetch(`${gw.url}/admin/config`)).text();
  assert.ok(!config.includes(digest), 'the key hash is shown');
  assert.match(config, /"key_sha256":"\*\*\*\*[0-9a-f]{4}"/);
});
