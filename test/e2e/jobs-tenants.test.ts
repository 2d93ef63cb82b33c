import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startStack } from '../helpers/stack.ts';
import { mockFor } from '../helpers/mock.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';

test('with gateway keys, jobs need a key, each tenant sees only its own files, batches and jobs, and items run as the submitting key', async (t) => {
  const dir = tempDataDir(t);
  const { gw, mocks } = await startStack(t, {
    config: (urls) =>
      jobsConfig(
        urls,
        { data_dir: dir },
        {
          auth: {
            keys: [
              { key: 'key-alpha-000001', tenant: 'alpha' },
              { key: 'key-beta-0000001', tenant: 'beta', models: ['other'] },
            ],
          },
          tenants: { alpha: {}, beta: {} },
          models: {
            chat: { routes: [{ upstream: 'mock0', model: 'chat' }] },
            other: { routes: [{ upstream: 'mock0', model: 'chat' }] },
          },
        },
      ),
  });
  const alpha = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-alpha-000001', maxRetries: 0 });
  const beta = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-beta-0000001', maxRetries: 0 });
  const input = join(dir, 'a.jsonl');
  writeFileSync(
    input,
    JSON.stringify({
      custom_id: 'only',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'chat', messages: [{ role: 'user', content: 'alpha work' }], max_tokens: 2 },
    }),
  );
  const anonymous = await fetch(`${gw.url}/v1/batches`);
  assert.equal(anonymous.status, 401);
  const file = await alpha.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await alpha.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  await assert.rejects(beta.files.retrieve(file.id), (e: { status?: number }) => e.status === 404);
  await assert.rejects(beta.batches.retrieve(batch.id), (e: { status?: number }) => e.status === 404);
  await assert.rejects(
    beta.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    (e: { status?: number }) => e.status === 404,
  );
  assert.deepEqual((await beta.batches.list()).data, []);
  const done = await pollUntil(
    () => alpha.batches.retrieve(batch.id),
    (b) => b.status === 'completed',
  );
  assert.deepEqual(done.request_counts, { total: 1, completed: 1, failed: 0 });
  assert.equal(mocks[0]?.stats().completed, 1);

  // An async request runs with its key's permissions: beta may not use "chat", so its job fails as beta's would.
  const refused = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', authorization: 'Bearer key-beta-0000001' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'not allowed' }] }),
  });
  assert.equal(refused.status, 403, 'refused at submission, not later');
  const ok = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', authorization: 'Bearer key-beta-0000001' },
    body: JSON.stringify({ model: 'other', messages: [{ role: 'user', content: 'beta work' }], max_tokens: 2 }),
  });
  assert.equal(ok.status, 202);
  const { id } = (await ok.json()) as { id: string };
  const notYours = await fetch(`${gw.url}/v1/jobs/${id}`, { headers: { authorization: 'Bearer key-alpha-000001' } });
  assert.equal(notYours.status, 404);
  const job = await pollUntil(
    async () =>
      (await (
        await fetch(`${gw.url}/v1/jobs/${id}`, { headers: { authorization: 'Bearer key-beta-0000001' } })
      ).json()) as { status: string },
    (j) => j.status === 'completed',
  );
  assert.equal(job.status, 'completed');
});

test('a request carrying a wrong job secret is refused: no client can claim the background class', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-spillway-job-secret': 'guess',
      'x-spillway-job-tenant': 'someone',
    },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(res.status, 401);
});

test('after a config reload, async requests still work and the job API follows the new gateway keys', async (t) => {
  const dir = tempDataDir(t);
  const build = (key: string) =>
    jobsConfig([mockUrl], { data_dir: dir }, { auth: { keys: [{ key, tenant: 'team' }] }, tenants: { team: {} } });
  const mock = await mockFor(t, {});
  const mockUrl = mock.url;
  const gw = await startGateway(resolveConfig(build('key-before-00001'), 'test config', {}), {
    port: 0,
    log: createLogger('silent'),
  });
  t.after(() => gw.shutdown(0));
  const result = await gw.reload(resolveConfig(build('key-after-000001'), 'test config', {}));
  assert.deepEqual(result.restartNeeded, [], 'only auth changed');
  const submit = (key: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'after reload' }], max_tokens: 2 }),
    });
  assert.equal((await submit('key-before-00001')).status, 401, 'the removed key is refused');
  const ok = await submit('key-after-000001');
  assert.equal(ok.status, 202, 'the respond-async stage is in the rebuilt pipeline');
  const { id } = (await ok.json()) as { id: string };
  const old = await fetch(`${gw.url}/v1/jobs/${id}`, { headers: { authorization: 'Bearer key-before-00001' } });
  assert.equal(old.status, 401, 'the job API follows the live keys');
  const job = await pollUntil(
    async () =>
      (await (
        await fetch(`${gw.url}/v1/jobs/${id}`, { headers: { authorization: 'Bearer key-after-000001' } })
      ).json()) as { status: string },
    (j) => j.status === 'completed',
  );
  assert.equal(job.status, 'completed', 'its item ran as the new key through the new pipeline');
});
