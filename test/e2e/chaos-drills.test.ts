import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createReadStream, readdirSync, symlinkSync, writeFileSync, type PathLike } from 'node:fs';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { jobsConfig, pollUntil, tempDataDir } from '../helpers/jobs.ts';
import { startStack } from '../helpers/stack.ts';
import { until } from '../helpers/until.ts';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';
import { startMock } from '../../src/mock/server.ts';
import { resolveConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/lifecycle/start-gateway.ts';
import { createLogger } from '../../src/observe/log.ts';

const body = (model: string, i: number) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: `drill ${i}` }], max_tokens: 4 });

test('chaos: an upstream whose DNS fails is a clean 502 upstream_error on its own, and fails over when another route exists', async (t) => {
  const { gw } = await startStack(t, {
    config: (urls) => ({
      upstreams: [
        { name: 'lost', url: 'http://spillway-drill.invalid/v1', timeouts: { connect: '2s' } },
        { name: 'mock0', url: `${urls[0]}/v1` },
      ],
      models: {
        alone: { routes: [{ upstream: 'lost' }] },
        chat: { routes: [{ upstream: 'lost' }, { upstream: 'mock0' }] },
      },
    }),
  });
  const post = (model: string, i: number) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(model, i),
    });
  const alone = await post('alone', 0);
  const text = await alone.text();
  assert.equal(alone.status, 502, text);
  const err = (JSON.parse(text) as { error: { code: string; type: string; message: string } }).error;
  assert.equal(err.code, 'upstream_error');
  assert.equal(err.type, 'server_error');
  assert.match(
    err.message,
    /upstream 'lost' failed \(ENOTFOUND\)/,
    'says which upstream and why, by its configured name',
  );
  assert.doesNotMatch(err.message, /spillway-drill\.invalid/, 'the upstream host is not disclosed to clients');
  // With a working route, every request is served: failover on the resolution failure, then passive health.
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await post('chat', i)).status));
  assert.deepEqual(results, Array(20).fill(200));
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'the gateway is up');
});

const KEYS = ['sk-drill-acct-0001', 'sk-drill-acct-0002'];

async function threeOnRedis(t: TestContext, redisUrl: string, upstreamUrl: string): Promise<Gateway[]> {
  const config = resolveConfig(
    {
      log: { level: 'silent' },
      state: { redis: { url: redisUrl, prefix: `drill${process.pid}:`, local_fraction: 0.34 } },
      auth: { keys: [{ key: 'drill-tenant-key-1', tenant: 'acme' }] },
      tenants: { acme: { requests_per_minute: 60 } },
      upstreams: [
        {
          name: 'provider',
          url: `${upstreamUrl}/v1`,
          max_concurrency: 100,
          keys: KEYS.map((key, i) => ({ key, name: `k${i + 1}`, max_concurrency: 4 })),
        },
      ],
      models: { chat: { routes: [{ upstream: 'provider' }] } },
      queue: { max_wait: '20s' },
    },
    'chaos drill',
    {},
  );
  const gws: Gateway[] = [];
  for (let i = 0; i < 3; i++) gws.push(await startGateway(config, { port: 0, log: createLogger('silent') }));
  t.after(() => Promise.all(gws.map((g) => g.shutdown(0))));
  return gws;
}

async function send(gw: Gateway, i: number): Promise<{ status: number; text: string }> {
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer drill-tenant-key-1' },
    body: JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: `q${i}` }],
      max_tokens: 4,
      stream: i % 2 === 0,
    }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** An answered request is whole: a JSON completion, or a stream that ends with [DONE]; a refusal is an OpenAI error. */
function assertClean(r: { status: number; text: string }): void {
  if (r.status === 200) {
    if (r.text.startsWith('{')) assert.ok((JSON.parse(r.text) as { choices: unknown[] }).choices.length > 0);
    else assert.ok(r.text.endsWith('data: [DONE]\n\n'), `an accepted stream completed: ${r.text.slice(-80)}`);
  } else {
    assert.ok(r.status === 429 || r.status === 503, `status ${r.status}: ${r.text.slice(0, 200)}`);
    assert.match(r.text, /^\{"error":\{/);
  }
}

const degraded = async (gw: Gateway): Promise<boolean> =>
  /^spillway_state_degraded 1$/m.test(await (await fetch(`${gw.url}/metrics`)).text());

test(
  'chaos: Redis killed under load and restored: nothing accepted is lost, the instances serve on local limits, then the shared limit resumes',
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    const mock = await startMock({ apiKeys: KEYS, perKeyConcurrency: 4, ttftMs: 30, tokenMs: 3 });
    t.after(() => mock.close());
    const gws = await threeOnRedis(t, redis.url, mock.url);
    const on = (i: number): Gateway => gws[i % 3] as Gateway;

    // Killed while 30 requests are in flight.
    const during = Array.from({ length: 30 }, (_v, i) => send(on(i), i));
    await new Promise((r) => mock.events.once('request', r));
    await redis.stop();
    const killed = await Promise.all(during);
    killed.forEach(assertClean);
    // Down: each instance serves on its share of the limit (60 × 0.34 ≈ 20 a minute), so the fleet stays near 60.
    const down = await Promise.all(Array.from({ length: 30 }, (_v, i) => send(on(i), 100 + i)));
    down.forEach(assertClean);
    assert.ok(
      down.filter((r) => r.status === 200).length >= 24,
      `served on local limits: ${down.map((r) => r.status).join(',')}`,
    );
    for (const gw of gws) assert.equal(await degraded(gw), true);
    const completedBefore = mock.stats().completed;
    const answered = [...killed, ...down].filter((r) => r.status === 200).length;
    assert.ok(
      completedBefore >= answered,
      `every accepted request was answered by the upstream (${completedBefore} ≥ ${answered})`,
    );

    // Restored on the same port: every instance finds it again (a PING a second) and the fleet-wide limit is back.
    const back = await startRedisServer(t, { port: redis.port });
    assert.equal(back.url, redis.url);
    await until(
      async () =>
        !(await degraded(gws[0] as Gateway)) &&
        !(await degraded(gws[1] as Gateway)) &&
        !(await degraded(gws[2] as Gateway)),
      'every instance back on Redis',
      15_000,
    );
    const started = performance.now();
    const burst = await Promise.all(Array.from({ length: 150 }, (_v, i) => send(on(i), 1000 + i)));
    burst.forEach(assertClean);
    const admitted = burst.filter((r) => r.status === 200).length;
    const refilled = Math.floor((performance.now() - started) / 1000);
    // The restarted Redis is empty, so the shared bucket is full: one minute's worth for the three together, not each.
    assert.ok(
      admitted >= 59 && admitted <= 61 + refilled,
      `admitted ${admitted} of 60 a minute across three instances (+${refilled} refilled)`,
    );
    for (const r of burst.filter((x) => x.status !== 200)) assert.match(r.text, /"code":"rate_limited"/);
  },
);

/**
 * Fault injection for a full disk (no small filesystem can be mounted where the tests run, and root ignores
 * permissions): every write stream opened under `dir` writes its first few bytes, then fails with ENOSPC, as a
 * disk filling up mid-file does. Node's builtin ESM exports are re-synced, so `import { createWriteStream }` in
 * the gateway sees it. Undone when the test ends or `lift()` is called.
 */
function diskFullUnder(t: TestContext, dir: string): { refused: () => number; lift: () => void } {
  const real = fs.createWriteStream;
  let refused = 0;
  const lift = (): void => {
    fs.createWriteStream = real;
    syncBuiltinESMExports();
  };
  fs.createWriteStream = (path: PathLike, opts?: Parameters<typeof real>[1]) => {
    const s = real(path, opts);
    if (!String(path).startsWith(dir)) return s;
    let written = 0;
    const write = s._write.bind(s);
    s._writev = undefined;
    s._write = (chunk: Buffer, enc: BufferEncoding, cb: (e?: Error | null) => void) => {
      if (written + chunk.length > 64) {
        refused++;
        cb(
          Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
            errno: -28,
            syscall: 'write',
          }),
        );
        return;
      }
      written += chunk.length;
      write(chunk, enc, cb);
    };
    return s;
  };
  syncBuiltinESMExports();
  t.after(lift);
  return { refused: () => refused, lift };
}

test('chaos: the disk fills while a batch runs and finalizes: the process stays up, nothing half-written is kept, and the batch completes once there is room', async (t) => {
  const dir = tempDataDir(t);
  const { gw, client, logs } = await startStack(t, {
    mocks: [{ ttftMs: 150, slots: 64 }],
    config: (urls) => jobsConfig(urls, { data_dir: dir, lease: '1s' }),
  });
  const N = 20;
  const input = join(dir, 'input.jsonl');
  writeFileSync(
    input,
    `${Array.from({ length: N }, (_, i) => JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'chat', messages: [{ role: 'user', content: `item ${i}` }], max_tokens: 3 } })).join('\n')}\n`,
  );
  const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  // The disk fills while the first items run: SQLite cannot grow (results are not recorded) and output files
  // cannot be written.
  const db = (gw.jobs?.store as unknown as { db: DatabaseSync }).db;
  db.exec(
    `PRAGMA max_page_count=${Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count)}`,
  );
  const full = diskFullUnder(t, dir);
  await until(
    () => logs.records().some((r) => r.msg === 'job store failure' && r.code === 'disk_full'),
    'a result refused by the full disk',
    20_000,
  );
  // Room for results again, but not yet for the output file: finalizing fails, cleanly, and is retried.
  db.exec('PRAGMA max_page_count=1073741823');
  await until(() => full.refused() > 0, 'finalizing to hit the full disk', 30_000);
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'the process is up');
  assert.equal(
    (await client.batches.retrieve(batch.id)).status !== 'completed',
    true,
    'not completed with a half-written output',
  );
  assert.deepEqual(
    readdirSync(join(dir, 'files')).filter((f) => f.endsWith('.tmp') || f.includes('-output')),
    [],
    'no half-written or unrecorded output file',
  );
  full.lift();
  const done = await pollUntil(
    () => client.batches.retrieve(batch.id),
    (b) => b.status === 'completed',
    1200,
  );
  assert.equal(done.status, 'completed');
  const out = (await (await client.files.content(done.output_file_id ?? '')).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { custom_id: string });
  assert.equal(out.length, N);
  assert.equal(
    new Set(out.map((o) => o.custom_id)).size,
    N,
    'each item once, though some ran again after their result was refused',
  );
});

test('chaos: an upload while the disk is full answers 507 disk_full and leaves no partial file', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  const full = diskFullUnder(t, dir);
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append(
    'file',
    new Blob([`${'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n'.repeat(2000)}`]),
    'in.jsonl',
  );
  const res = await fetch(`${gw.url}/v1/files`, { method: 'POST', body: form });
  const text = await res.text();
  assert.equal(res.status, 507, text);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'disk_full');
  assert.ok(full.refused() > 0, 'the write did hit the full disk');
  assert.deepEqual(readdirSync(join(dir, 'files')), [], 'no .part or partial file');
  const list = (await (await fetch(`${gw.url}/v1/files`)).json()) as { data: unknown[] };
  assert.deepEqual(list.data, [], 'no file recorded');
  full.lift();
  const again = new FormData();
  again.append('purpose', 'batch');
  again.append(
    'file',
    new Blob(['{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n']),
    'in.jsonl',
  );
  assert.equal(
    (await fetch(`${gw.url}/v1/files`, { method: 'POST', body: again })).status,
    200,
    'uploads work again once there is room',
  );
});

test('chaos: an upload while the data directory cannot be written answers 503 store_unavailable with Retry-After', async (t) => {
  const dir = tempDataDir(t);
  const { gw } = await startStack(t, { config: (urls) => jobsConfig(urls, { data_dir: dir }) });
  // files/ becomes a link into a regular file: no directory can be made there (root ignores permissions, this not).
  writeFileSync(join(dir, 'blocker'), '');
  symlinkSync(join(dir, 'blocker', 'files'), join(dir, 'files'));
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append(
    'file',
    new Blob(['{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n']),
    'in.jsonl',
  );
  const res = await fetch(`${gw.url}/v1/files`, { method: 'POST', body: form });
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'store_unavailable');
  assert.deepEqual(
    ((await (await fetch(`${gw.url}/v1/files`)).json()) as { data: unknown[] }).data,
    [],
    'nothing recorded',
  );
});
