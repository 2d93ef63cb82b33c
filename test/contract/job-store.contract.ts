import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchRecord, JobStore, NewItem, RequestRecord } from '../../src/jobs/store/job-store.ts';
import { pollUntil } from '../helpers/jobs.ts';

/**
 * The behaviour every job store must have (SQLite and Redis run this same suite). Times are real wall-clock
 * milliseconds: Redis measures a lease by the real idle time of its stream entry.
 */
export function jobStoreContract(
  name: string,
  make: () => Promise<JobStore>,
  opts: { skip?: string | undefined } = {},
): void {
  const it = (title: string, fn: (s: JobStore) => Promise<void>): void => {
    test(`${name}: ${title}`, { skip: opts.skip }, async (t) => {
      const s = await make();
      t.after(() => s.close());
      await fn(s);
    });
  };

  let n = 0;
  const batch = (tenant = 't', nowMs = Date.now()): BatchRecord => ({
    id: `batch_${String(++n).padStart(4, '0')}_${Math.random().toString(36).slice(2)}`,
    tenant,
    endpoint: '/v1/chat/completions',
    inputFileId: 'file-x',
    completionWindow: '24h',
    status: 'in_progress',
    outputFileId: null,
    errorFileId: null,
    metadata: null,
    createdAt: Math.floor(nowMs / 1000),
    inProgressAt: Math.floor(nowMs / 1000),
    expiresAt: Math.floor(nowMs / 1000) + 86400,
    finalizingAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
  });
  const items = (k: number, prefix = (i: number) => `p${i % 2}`): NewItem[] =>
    Array.from({ length: k }, (_, i) => ({
      seq: i,
      customId: `c${i}`,
      endpoint: 'chat',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `q${i}` }] }),
      prefixKey: prefix(i),
    }));
  const request = (key: string | null = null): RequestRecord => ({
    id: `job_${String(++n).padStart(4, '0')}_${Math.random().toString(36).slice(2)}`,
    tenant: 't',
    endpoint: 'chat',
    model: 'm',
    createdAt: Math.floor(Date.now() / 1000),
    idempotencyKey: key,
    bodyHash: 'h',
    webhookUrl: null,
  });
  const ok = (body = '{"ok":true}') => ({ status: 200, body, bodyPath: null, requestId: 'r' });

  it("lists a tenant's files newest first, pages them, and forgets a deleted one", async (s) => {
    const file = (id: string, createdAt: number, tenant = 'ft') => ({
      id,
      tenant,
      purpose: 'batch',
      filename: `${id}.jsonl`,
      bytes: 1,
      createdAt,
      path: `/tmp/${id}`,
    });
    for (const f of [file('file-a', 100), file('file-b', 200), file('file-c', 200), file('file-x', 300, 'other')])
      await s.addFile(f);
    assert.deepEqual(
      (await s.listFiles('ft', null, 2)).map((f) => f.id),
      ['file-c', 'file-b'],
    );
    assert.deepEqual(
      (await s.listFiles('ft', 'file-b', 2)).map((f) => f.id),
      ['file-a'],
    );
    assert.equal((await s.deleteFile('file-b'))?.id, 'file-b');
    assert.equal(await s.deleteFile('file-b'), undefined);
    assert.equal(await s.getFile('file-b'), undefined);
    assert.deepEqual(
      (await s.listFiles('ft', null, 10)).map((f) => f.id),
      ['file-c', 'file-a'],
    );
  });

  it('stores a batch with its items in input order and counts them', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(5), 100);
    assert.equal((await s.getBatch(b.id))?.id, b.id);
    assert.deepEqual(await s.counts(b.id), { total: 5, completed: 0, failed: 0, open: 5 });
    const seen: string[] = [];
    for await (const v of s.items(b.id)) seen.push(v.customId);
    assert.deepEqual(seen, ['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it("lists a tenant's batches newest first, paged by id", async (s) => {
    const [a, b, c] = [batch('lt'), batch('lt'), batch('lt')];
    for (const x of [a, b, c]) await s.createBatch(x, null, items(1), 100);
    assert.deepEqual(
      (await s.listBatches('lt', null, 2)).map((x) => x.id),
      [c.id, b.id],
    );
    assert.deepEqual(
      (await s.listBatches('lt', b.id, 2)).map((x) => x.id),
      [a.id],
    );
    assert.deepEqual(await s.listBatches('other', null, 2), []);
  });

  it('leases async requests before batch items, each item to one owner, batch items grouped by prompt prefix', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(4), 100);
    const r = request();
    await s.createRequest(r, null, { seq: 0, customId: r.id, endpoint: 'chat', body: '{}', prefixKey: 'x' }, 100);
    const now = Date.now();
    const first = await s.lease('A', 3, now, now + 60_000, []);
    assert.deepEqual(
      first.map((x) => x.customId),
      [r.id, 'c0', 'c2'],
      'the request, then the p0 group',
    );
    assert.ok(first.every((x) => x.attempts === 1));
    const second = await s.lease('B', 10, now, now + 60_000, []);
    assert.deepEqual(
      second.map((x) => x.customId),
      ['c1', 'c3'],
    );
    assert.deepEqual(await s.lease('C', 10, now, now + 60_000, []), []);
    assert.equal((await s.stats()).byState.running, 5);
  });

  it("records an item's result exactly once: a second completion changes nothing", async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(1), 100);
    const [x] = await s.lease('A', 1, Date.now(), Date.now() + 60_000, []);
    assert.ok(x);
    assert.equal(await s.complete(x.id, ok('{"first":1}'), Date.now()), true);
    assert.equal(await s.complete(x.id, ok('{"second":2}'), Date.now()), false);
    const v = await s.item(x.id);
    assert.equal(v?.state, 'done');
    assert.equal(v?.result?.body, '{"first":1}');
    assert.deepEqual(await s.counts(b.id), { total: 1, completed: 1, failed: 0, open: 0 });
  });

  it('gives an item whose lease expired (its instance died) to another owner, who runs it as a second attempt', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(1), 100);
    const [x] = await s.lease('dead-instance', 1, Date.now(), Date.now() + 50, []);
    assert.ok(x);
    // Every instance leases for the same jobs.lease (Redis measures an entry's idle time against it).
    const taken = await pollUntil(
      async () => s.lease('B', 1, Date.now(), Date.now() + 50, []),
      (l) => l.length === 1,
      100,
      20,
    );
    assert.equal(taken[0]?.id, x.id);
    assert.equal(taken[0]?.attempts, 2);
    assert.equal(await s.complete(x.id, ok(), Date.now()), true);
    // The dead instance's late completion (had it survived) is ignored.
    assert.equal(await s.complete(x.id, ok('{"late":1}'), Date.now()), false);
  });

  it('a renewed lease is not taken over', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(1), 100);
    // The lease is 600 ms and renewed every 200 ms (a third, as the runner does): 1.2 s later it is still A's.
    const [x] = await s.lease('A', 1, Date.now(), Date.now() + 600, []);
    assert.ok(x);
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await s.renew('A', [x.id], Date.now() + 600);
      assert.deepEqual(
        await s.lease('B', 1, Date.now(), Date.now() + 600, []),
        [],
        `still A's after ${(i + 1) * 200} ms`,
      );
    }
  });

  it('retryLater keeps an item back until its time; pushback gives the attempt back', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(1), 100);
    const [x] = await s.lease('A', 1, Date.now(), Date.now() + 60_000, []);
    assert.ok(x);
    await s.retryLater(x.id, 'A', 'busy', Date.now() + 150, false, Date.now());
    assert.deepEqual(await s.lease('A', 1, Date.now(), Date.now() + 60_000, []), []);
    const again = await pollUntil(
      async () => s.lease('A', 1, Date.now(), Date.now() + 60_000, []),
      (l) => l.length === 1,
      100,
      20,
    );
    assert.equal(again[0]?.attempts, 1, 'pushback did not count');
    await s.retryLater(x.id, 'A', 'upstream 502', Date.now(), true, Date.now());
    const third = await pollUntil(
      async () => s.lease('A', 1, Date.now(), Date.now() + 60_000, []),
      (l) => l.length === 1,
      100,
      20,
    );
    assert.equal(third[0]?.attempts, 2, 'a counted retry');
    assert.equal((await s.item(x.id))?.lastError, 'upstream 502');
  });

  it('dead letters: killed items are listed with their last error, requeued with attempts reset, purged', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(2), 100);
    const leased = await s.lease('A', 2, Date.now(), Date.now() + 60_000, []);
    for (const x of leased) await s.kill(x.id, 'A', `boom ${x.customId}`, Date.now());
    const dead = await s.deadLetters(10, null);
    assert.deepEqual(
      dead.map((d) => [d.customId, d.state, d.lastError]),
      [
        ['c0', 'dead', 'boom c0'],
        ['c1', 'dead', 'boom c1'],
      ],
    );
    assert.equal((await s.stats()).byState.dead, 2);
    assert.equal(await s.requeue(dead[0]?.id ?? '', Date.now()), true);
    assert.equal(await s.requeue(dead[0]?.id ?? '', Date.now()), false, 'no longer dead');
    const back = await s.lease('A', 5, Date.now(), Date.now() + 60_000, []);
    assert.deepEqual(
      back.map((x) => [x.customId, x.attempts]),
      [['c0', 1]],
    );
    assert.equal(await s.purgeDead(null), 1);
    assert.deepEqual(await s.deadLetters(10, null), []);
    assert.equal((await s.stats()).byState.dead, 0);
  });

  it('an idempotency key returns the first request', async (s) => {
    const a = request('k');
    const item = { seq: 0, customId: 'x', endpoint: 'chat' as const, body: '{}', prefixKey: 'x' };
    assert.equal((await s.createRequest(a, null, item, 100)).created, true);
    const again = await s.createRequest({ ...request('k'), bodyHash: 'other' }, null, item, 100);
    assert.equal(again.created, false);
    assert.equal(again.record.id, a.id);
    assert.equal((await s.stats()).byState.queued, 1);
  });

  it('cancelling a batch ends its queued items and leaves running ones to finish', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(3), 100);
    const [x] = await s.lease('A', 1, Date.now(), Date.now() + 60_000, []);
    assert.ok(x);
    assert.equal((await s.cancelBatch(b.id, Date.now()))?.status, 'cancelling');
    assert.deepEqual(await s.counts(b.id), { total: 3, completed: 0, failed: 2, open: 1 });
    assert.deepEqual(await s.lease('B', 5, Date.now(), Date.now() + 60_000, []), []);
    await s.complete(x.id, ok(), Date.now());
    assert.deepEqual(await s.counts(b.id), { total: 3, completed: 1, failed: 2, open: 0 });
    assert.deepEqual(
      (await s.toFinalize(Date.now())).map((y) => y.id),
      [b.id],
    );
  });

  it('refuses work beyond max_items with job_storage_full and stores nothing of it', async (s) => {
    await s.createBatch(batch(), null, items(3), 4);
    const big = batch();
    await assert.rejects(
      s.createBatch(big, null, items(2), 4),
      (e: { code?: string }) => e.code === 'job_storage_full',
    );
    assert.equal(await s.getBatch(big.id), undefined);
    assert.equal((await s.stats()).byState.queued, 3);
  });

  it('sweeps jobs finished before the retention horizon, with their items and results', async (s) => {
    const b = batch();
    await s.createBatch(b, null, items(1), 100);
    const [x] = await s.lease('A', 1, Date.now(), Date.now() + 60_000, []);
    assert.ok(x);
    await s.complete(x.id, ok(), Date.now());
    await s.setBatch(b.id, { status: 'completed' });
    await s.sweep(Date.now() - 60_000);
    assert.ok((await s.getBatch(b.id)) !== undefined, 'kept within retention');
    await s.sweep(Date.now() + 1000);
    assert.equal(await s.getBatch(b.id), undefined);
    assert.equal(await s.item(x.id), undefined);
    assert.equal((await s.stats()).byState.done, 0);
  });
}
