import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { SpillwayError } from '../../../src/errors.ts';
import { guardStore, storeError } from '../../../src/jobs/store/guard-store.ts';
import { SqliteJobStore } from '../../../src/jobs/store/sqlite-store.ts';
import type { RequestRecord } from '../../../src/jobs/store/job-store.ts';
import { createLogger } from '../../../src/observe/log.ts';

const sqliteError = (errcode: number, errstr: string) =>
  Object.assign(new Error(errstr), { code: 'ERR_SQLITE_ERROR', errcode, errstr });
const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name }, extra);

test('job-store failures are classified: a full disk is 507 disk_full, an outage 503 store_unavailable with Retry-After, a bug stays a bug', () => {
  const table: [unknown, string | null][] = [
    [sqliteError(13, 'database or disk is full'), 'disk_full'],
    [Object.assign(new Error('no space'), { code: 'ENOSPC' }), 'disk_full'],
    [sqliteError(5, 'database is locked'), 'store_unavailable'],
    [Object.assign(new Error('permission denied'), { code: 'EACCES' }), 'store_unavailable'],
    [Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }), 'store_unavailable'],
    [sqliteError(266, 'disk I/O error'), 'store_unavailable'], // SQLITE_IOERR_READ: judged by its primary code
    [sqliteError(8, 'attempt to write a readonly database'), 'store_unavailable'],
    [
      named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 2).'),
      'store_unavailable',
    ],
    [new Error('Connection is closed.'), 'store_unavailable'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }), 'store_unavailable'],
    [named('ReplyError', 'LOADING Redis is loading the dataset in memory'), 'store_unavailable'],
    [named('ReplyError', 'OOM command not allowed when used memory > maxmemory'), 'store_unavailable'],
    [sqliteError(1, 'no such table: items'), null],
    [named('ReplyError', 'ERR wrong number of arguments'), null],
    [new TypeError('x is undefined'), null],
  ];
  for (const [err, code] of table) {
    const got = storeError(err);
    if (code === null) assert.equal(got, err, String(err));
    else {
      assert.ok(got instanceof SpillwayError, String(err));
      assert.equal(got.code, code, String(err));
      if (code === 'store_unavailable') assert.ok((got.retryAfterS ?? 0) > 0, 'Retry-After');
      assert.equal(got.cause, err, 'the cause is kept for the log');
    }
  }
  const already = new SpillwayError('job_storage_full', 'x');
  assert.equal(storeError(already), already);
});

function openStore(t: TestContext): { store: SqliteJobStore; db: DatabaseSync } {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-store-fault-'));
  const store = new SqliteJobStore(dir);
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, db: (store as unknown as { db: DatabaseSync }).db };
}

let n = 0;
const request = (): RequestRecord => ({
  id: `job_${++n}`,
  tenant: 't',
  endpoint: 'chat',
  model: 'm',
  createdAt: 1,
  idempotencyKey: null,
  bodyHash: 'h',
  webhookUrl: null,
});
const item = (r: RequestRecord, size = 64) => ({
  seq: 0,
  customId: r.id,
  endpoint: 'chat' as const,
  body: 'x'.repeat(size),
  prefixKey: 'p',
});

test('a full SQLite file (SQLITE_FULL) is reported as disk full, not "cannot rollback", and the store works again once there is room', async (t) => {
  const { store, db } = openStore(t);
  const guarded = guardStore(store, createLogger('silent'));
  await guarded.createRequest(request(), null, item(request()), 1000); // the tables have their first pages
  const pages = Number((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
  db.exec(`PRAGMA max_page_count=${pages}`); // the database cannot grow: SQLite's own SQLITE_FULL, no tmpfs needed
  const r = request();
  await assert.rejects(store.createRequest(r, null, item(r, 200_000), 1000), (e: Error & { errcode?: number }) => {
    assert.doesNotMatch(e.message, /cannot rollback/);
    assert.equal((e.errcode ?? 0) & 0xff, 13, e.message);
    return true;
  });
  await assert.rejects(
    guarded.createRequest(r, null, item(r, 200_000), 1000),
    (e: unknown) => e instanceof SpillwayError && e.code === 'disk_full' && e.status === 507,
  );
  assert.equal(db.isTransaction, false, 'no transaction left open');
  assert.equal(await store.getRequest(r.id), undefined, 'nothing half-written');
  db.exec('PRAGMA max_page_count=1073741823');
  const { created } = await guarded.createRequest(r, null, item(r, 200_000), 1000);
  assert.equal(created, true, 'the same write succeeds once there is room');
});

test("a COMMIT that fails after SQLite rolled the transaction back itself rolls back cleanly and reports the commit's error", async (t) => {
  const { store, db } = openStore(t);
  const exec = db.exec.bind(db);
  let failCommit = true;
  // Fault injection: what SQLite does when COMMIT hits a full disk — the transaction is rolled back, then it fails.
  db.exec = (sql: string) => {
    if (sql === 'COMMIT' && failCommit) {
      failCommit = false;
      exec('ROLLBACK');
      throw sqliteError(13, 'database or disk is full');
    }
    exec(sql);
  };
  const guarded = guardStore(store, createLogger('silent'));
  const r = request();
  await assert.rejects(
    guarded.createRequest(r, null, item(r), 1000),
    (e: unknown) => e instanceof SpillwayError && e.code === 'disk_full',
  );
  assert.equal(await store.getRequest(r.id), undefined, 'the failed commit left nothing');
  assert.equal(
    (await guarded.createRequest(r, null, item(r), 1000)).created,
    true,
    'the next transaction starts cleanly',
  );
});
