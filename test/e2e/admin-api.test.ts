import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.ts';

const withAdminKey = (urls: string[]) => ({
  admin: { key: 'admin-secret-123456' },
  upstreams: urls.map((url, i) => ({ name: `mock${i}`, url, api_key: 'sk-upstream-secret-abcdef' })),
  models: { chat: { routes: urls.map((_, i) => ({ upstream: `mock${i}` })) } },
});

test('the admin API refuses requests without the admin key and answers with it', async (t) => {
  const { gw } = await startStack(t, { config: withAdminKey });
  const denied = await fetch(`${gw.url}/admin/config`);
  assert.equal(denied.status, 401);
  assert.equal((await denied.json() as { error: { code: string } }).error.code, 'unauthorized');
  const wrong = await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer not-the-key-000' } });
  assert.equal(wrong.status, 401);
  const ok = await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer admin-secret-123456' } });
  assert.equal(ok.status, 200);
  const text = await ok.text();
  assert.ok(!text.includes('sk-upstream-secret-abcdef'), 'upstream keys are masked');
  assert.ok(!text.includes('admin-secret-123456'), 'the admin key is masked');
  assert.equal((JSON.parse(text) as { upstreams: unknown[] }).upstreams.length, 1);
});

test('unknown admin paths are 404 and wrong methods 405, in the OpenAI error shape', async (t) => {
  const { gw } = await startStack(t);
  const missing = await fetch(`${gw.url}/admin/nope`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json() as { error: { code: string } }).error.code, 'not_found');
  const wrongMethod = await fetch(`${gw.url}/admin/config`, { method: 'POST' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
});
