import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { startStack } from '../helpers/stack.ts';
import { jobsConfig, tempDataDir } from '../helpers/jobs.ts';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';
import type { Gateway } from '../../src/lifecycle/start-gateway.ts';

const ask = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'x'.repeat(200_000) }],
  max_tokens: 2,
});

function submitAsync(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: ask,
  });
}

/** The SQLite connection behind the gateway's job store (the guarded store passes fields through). */
function sqliteOf(gw: Gateway): DatabaseSync {
  return (gw.jobs?.store as unknown as { db: DatabaseSync }).db;
}

test("with the job store's disk full, async requests, uploads and batches answer 507 disk_full and leave nothing behind", async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const db = sqliteOf(gw);
  // Leave room for a small upload record first, to have a file for the batch.
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append(
    'file',
    new Blob([
      `${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'chat', messages: [{ role: 'user', content: 'y'.repeat(100_000) }] } })}\n`,
    ]),
    'in.jsonl',
  );
  const up = (await (await fetch(`${gw.url}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
  const pages = Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
  db.exec(`PRAGMA max_page_count=${pages}`); // the disk is full from here on

  const res = await submitAsync(gw.url);
  assert.equal(res.status, 507);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'disk_full');

  const batch = await fetch(`${gw.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: up.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  });
  assert.equal(batch.status, 507);
  assert.equal(((await batch.json()) as { error: { code: string } }).error.code, 'disk_full');

  const before = readdirSync(join(dir, 'files')).sort();
  const form2 = new FormData();
  form2.append('purpose', 'batch');
  // A long file name makes the file's record need new pages, which the full disk cannot give.
  form2.append(
    'file',
    new Blob(['{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{}}\n']),
    `${'n'.repeat(5000)}.jsonl`,
  );
  const up2 = await fetch(`${gw.url}/v1/files`, { method: 'POST', body: form2 });
  // The bytes fit on the (real) disk but the store cannot record them: refused, and the orphan is removed.
  const up2Body = await up2.text();
  assert.equal(up2.status, 507, up2Body);
  assert.equal((JSON.parse(up2Body) as { error: { code: string } }).error.code, 'disk_full');
  assert.deepEqual(readdirSync(join(dir, 'files')).sort(), before, 'no file the store does not know about');

  const stats = (await (await fetch(`${gw.url}/admin/jobs`)).json()) as { items: Record<string, number> };
  assert.equal(
    Object.values(stats.items).reduce((a, b) => a + b, 0),
    0,
    'no job, no batch item was stored',
  );
  db.exec('PRAGMA max_page_count=1073741823');
  assert.equal((await submitAsync(gw.url)).status, 202, 'accepted again once there is room');
});

test(
  'with the Redis job store down, async requests answer 503 store_unavailable with Retry-After, as does the Batches API',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const dir = tempDataDir(t);
    const { gw } = await startStack(t, {
      config: (urls) =>
        jobsConfig(
          urls,
          { data_dir: dir, store: 'redis' },
          { state: { redis: { url: redis.url, prefix: 'faults:' } }, log: { level: 'error', requests: false } },
        ),
    });
    assert.equal((await submitAsync(gw.url)).status, 202);
    await redis.stop();
    const res = await submitAsync(gw.url);
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'store_unavailable');
    const listing = await fetch(`${gw.url}/v1/batches`);
    assert.equal(listing.status, 503, 'the Files/Batches API too');
  },
);
