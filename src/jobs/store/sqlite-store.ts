import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { SpillwayError } from '../../errors.ts';
import {
  ITEM_STATES,
  type BatchRecord,
  type FileRecord,
  type ItemResult,
  type ItemState,
  type ItemView,
  type JobCounts,
  type JobStore,
  type LeasedItem,
  type NewItem,
  type RequestCounts,
  type RequestRecord,
  type WebhookDue,
} from './job-store.ts';

/**
 * The embedded job store: one SQLite file (node:sqlite) in WAL mode.
 *
 * Durability is chosen per write, where the promise is made:
 * - accepting work (a job, a batch, a file, cancel, requeue) commits with `synchronous=FULL`: the commit is on disk
 *   before the gateway answers, so "accepted" survives a killed process and a power cut alike;
 * - the runner's own bookkeeping (leases, results, retries) commits with `synchronous=NORMAL`: in WAL mode that
 *   survives a killed process (the crash drill), and a power cut can only lose the last results — those items run
 *   again (at least once), their results still recorded once. FULL there would put an fsync on the event loop for
 *   every item (node:sqlite is synchronous) and slow interactive requests on the same process: measured in
 *   docs/benchmarks.md (interference).
 *
 * Every state change is one transaction; completion is guarded by the results table's primary key, so an item's
 * result is written exactly once even when an expired lease let a second run finish too.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, purpose TEXT NOT NULL, filename TEXT NOT NULL, bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, data TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, done_at INTEGER);
CREATE INDEX IF NOT EXISTS batches_tenant ON batches (tenant, id);
CREATE INDEX IF NOT EXISTS files_tenant ON files (tenant, created_at, id);
CREATE INDEX IF NOT EXISTS batches_status ON batches (status);
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, data TEXT NOT NULL, idempotency_key TEXT, created_at INTEGER NOT NULL,
  webhook_state TEXT NOT NULL DEFAULT 'none', webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_next_at INTEGER,
  done_at INTEGER, UNIQUE (tenant, idempotency_key));
CREATE INDEX IF NOT EXISTS requests_webhook ON requests (webhook_state, webhook_next_at);
CREATE TABLE IF NOT EXISTS items (
  id TEXT PRIMARY KEY, job_id TEXT NOT NULL, seq INTEGER NOT NULL, custom_id TEXT NOT NULL, tenant TEXT NOT NULL,
  key_sha TEXT, endpoint TEXT NOT NULL, body TEXT NOT NULL, prefix_key TEXT NOT NULL,
  rank INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL, lease_owner TEXT, lease_until INTEGER, last_error TEXT, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS items_runnable ON items (state, rank, enqueued_at, job_id, prefix_key, seq);
CREATE INDEX IF NOT EXISTS items_job ON items (job_id, seq);
CREATE INDEX IF NOT EXISTS items_job_state ON items (job_id, state);
CREATE INDEX IF NOT EXISTS items_lease ON items (state, lease_until);
CREATE TABLE IF NOT EXISTS results (
  item_id TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT, body_path TEXT, request_id TEXT NOT NULL,
  completed_at INTEGER NOT NULL);
`;

/** Rows as this schema stores them: TEXT, INTEGER or NULL (no BLOBs, no integers beyond 2^53). */
type Row = Record<string, string | number | null>;

export class SqliteJobStore implements JobStore {
  private readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(join(dataDir, 'jobs.sqlite'));
    this.db.exec(
      'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=OFF;',
    );
    this.db.exec(SCHEMA);
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const v = fn();
      this.db.exec('COMMIT');
      return v;
    } catch (err) {
      // SQLite rolls a transaction back by itself on some failures (SQLITE_FULL at COMMIT, an I/O error): a second
      // ROLLBACK would then throw "no transaction is active" and hide what happened. The original error is what
      // the caller must see (guard-store.ts turns a full disk into 507 disk_full).
      if (this.db.isTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // The connection is in trouble already; the original error says why.
        }
      }
      throw err;
    }
  }

  /** A transaction that is on disk (fsync'd) when it returns: for work the gateway is about to acknowledge. */
  private durableTx<T>(fn: () => T): T {
    this.db.exec('PRAGMA synchronous=FULL');
    try {
      return this.tx(fn);
    } finally {
      this.db.exec('PRAGMA synchronous=NORMAL');
    }
  }

  private get(sql: string, ...p: SQLInputValue[]): Row | undefined {
    return this.db.prepare(sql).get(...p) as Row | undefined;
  }

  private all(sql: string, ...p: SQLInputValue[]): Row[] {
    return this.db.prepare(sql).all(...p) as Row[];
  }

  private run(sql: string, ...p: SQLInputValue[]): number {
    return Number(this.db.prepare(sql).run(...p).changes);
  }

  async addFile(f: FileRecord): Promise<void> {
    this.durableTx(() =>
      this.run(
        'INSERT OR REPLACE INTO files (id, tenant, purpose, filename, bytes, created_at, path) VALUES (?, ?, ?, ?, ?, ?, ?)',
        f.id,
        f.tenant,
        f.purpose,
        f.filename,
        f.bytes,
        f.createdAt,
        f.path,
      ),
    );
  }

  async getFile(id: string): Promise<FileRecord | undefined> {
    const r = this.get('SELECT * FROM files WHERE id = ?', id);
    return r === undefined ? undefined : fileOf(r);
  }

  async listFiles(tenant: string, after: string | null, limit: number): Promise<FileRecord[]> {
    const cursor =
      after === null ? undefined : this.get('SELECT created_at FROM files WHERE id = ? AND tenant = ?', after, tenant);
    const rows =
      cursor === undefined
        ? this.all('SELECT * FROM files WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT ?', tenant, limit)
        : this.all(
            'SELECT * FROM files WHERE tenant = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?',
            tenant,
            cursor.created_at ?? 0,
            cursor.created_at ?? 0,
            after,
            limit,
          );
    return rows.map(fileOf);
  }

  async deleteFile(id: string): Promise<FileRecord | undefined> {
    const f = await this.getFile(id);
    if (f !== undefined) this.durableTx(() => this.run('DELETE FROM files WHERE id = ?', id));
    return f;
  }

  private checkRoom(adding: number, maxItems: number): void {
    const n = Number(this.get('SELECT count(*) AS n FROM items')?.n ?? 0);
    if (n + adding > maxItems) {
      throw new SpillwayError(
        'job_storage_full',
        `The job store holds ${n} items and takes at most ${maxItems} (jobs.max_items); finished jobs are removed after jobs.retention.`,
        { retryAfterS: 60 },
      );
    }
  }

  async createBatch(b: BatchRecord, keySha: string | null, items: readonly NewItem[], maxItems: number): Promise<void> {
    const now = b.createdAt * 1000;
    this.durableTx(() => {
      this.checkRoom(items.length, maxItems);
      this.run(
        'INSERT INTO batches (id, tenant, data, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        b.id,
        b.tenant,
        JSON.stringify(b),
        b.status,
        b.createdAt,
        b.expiresAt,
      );
      const ins = this.db
        .prepare(`INSERT INTO items (id, job_id, seq, custom_id, tenant, key_sha, endpoint, body, prefix_key, rank, enqueued_at, state, not_before, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'queued', ?, ?)`);
      for (const it of items)
        ins.run(
          `${b.id}.${it.seq}`,
          b.id,
          it.seq,
          it.customId,
          b.tenant,
          keySha,
          it.endpoint,
          it.body,
          it.prefixKey,
          now,
          now,
          now,
        );
    });
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const r = this.get('SELECT data FROM batches WHERE id = ?', id);
    return r === undefined ? undefined : (JSON.parse(String(r.data)) as BatchRecord);
  }

  async listBatches(tenant: string, after: string | null, limit: number): Promise<BatchRecord[]> {
    // Newest first, as OpenAI lists them; ids sort by creation (they start with a time prefix).
    const rows =
      after === null
        ? this.all('SELECT data FROM batches WHERE tenant = ? ORDER BY id DESC LIMIT ?', tenant, limit)
        : this.all(
            'SELECT data FROM batches WHERE tenant = ? AND id < ? ORDER BY id DESC LIMIT ?',
            tenant,
            after,
            limit,
          );
    return rows.map((r) => JSON.parse(String(r.data)) as BatchRecord);
  }

  async counts(jobId: string): Promise<RequestCounts & { open: number }> {
    const c = { total: 0, completed: 0, failed: 0, open: 0 };
    for (const r of this.all('SELECT state, count(*) AS n FROM items WHERE job_id = ? GROUP BY state', jobId)) {
      const n = Number(r.n);
      c.total += n;
      if (r.state === 'done') c.completed += n;
      else if (r.state === 'queued' || r.state === 'running') c.open += n;
      else c.failed += n;
    }
    return c;
  }

  async setBatch(id: string, patch: Partial<BatchRecord>): Promise<void> {
    this.tx(() => this.patchBatch(id, patch));
  }

  private patchBatch(id: string, patch: Partial<BatchRecord>): BatchRecord | undefined {
    const r = this.get('SELECT data FROM batches WHERE id = ?', id);
    if (r === undefined) return undefined;
    const b = { ...(JSON.parse(String(r.data)) as BatchRecord), ...patch };
    const final =
      b.status === 'completed' || b.status === 'cancelled' || b.status === 'expired' || b.status === 'failed';
    this.run(
      'UPDATE batches SET data = ?, status = ?, done_at = ? WHERE id = ?',
      JSON.stringify(b),
      b.status,
      final ? Date.now() : null,
      id,
    );
    return b;
  }

  async cancelBatch(id: string, nowMs: number): Promise<BatchRecord | undefined> {
    return this.durableTx(() => {
      const b = this.get('SELECT status FROM batches WHERE id = ?', id);
      if (b === undefined) return undefined;
      if (b.status !== 'in_progress' && b.status !== 'validating') return this.patchBatch(id, {});
      this.run(
        "UPDATE items SET state = 'cancelled', updated_at = ?, last_error = 'cancelled' WHERE job_id = ? AND state = 'queued'",
        nowMs,
        id,
      );
      return this.patchBatch(id, { status: 'cancelling', cancellingAt: Math.floor(nowMs / 1000) });
    });
  }

  async toFinalize(nowMs: number): Promise<BatchRecord[]> {
    const rows = this.all(
      `SELECT data FROM batches b WHERE status IN ('in_progress', 'cancelling', 'finalizing')
      AND (expires_at * 1000 < ? OR NOT EXISTS (SELECT 1 FROM items i WHERE i.job_id = b.id AND i.state IN ('queued', 'running')))`,
      nowMs,
    );
    return rows.map((r) => JSON.parse(String(r.data)) as BatchRecord);
  }

  async expireItems(jobId: string, nowMs: number): Promise<void> {
    this.run(
      "UPDATE items SET state = 'expired', updated_at = ?, last_error = 'batch_expired' WHERE job_id = ? AND state = 'queued'",
      nowMs,
      jobId,
    );
  }

  async *items(jobId: string): AsyncIterable<ItemView> {
    // Paged by seq: a 50,000-item batch is read a page at a time, and the statement is not held across awaits.
    let from = -1;
    for (;;) {
      const rows = this.all(
        `SELECT i.*, r.status AS r_status, r.body AS r_body, r.body_path AS r_body_path, r.request_id AS r_request_id
        FROM items i LEFT JOIN results r ON r.item_id = i.id WHERE i.job_id = ? AND i.seq > ? ORDER BY i.seq LIMIT 500`,
        jobId,
        from,
      );
      if (rows.length === 0) return;
      for (const r of rows) yield viewOf(r);
      from = Number(rows[rows.length - 1]?.seq);
    }
  }

  async createRequest(
    r: RequestRecord,
    keySha: string | null,
    item: NewItem,
    maxItems: number,
  ): Promise<{ record: RequestRecord; created: boolean }> {
    const now = r.createdAt * 1000;
    return this.durableTx(() => {
      if (r.idempotencyKey !== null) {
        const prev = this.get(
          'SELECT data FROM requests WHERE tenant = ? AND idempotency_key = ?',
          r.tenant,
          r.idempotencyKey,
        );
        if (prev !== undefined) return { record: JSON.parse(String(prev.data)) as RequestRecord, created: false };
      }
      this.checkRoom(1, maxItems);
      this.run(
        'INSERT INTO requests (id, tenant, data, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)',
        r.id,
        r.tenant,
        JSON.stringify(r),
        r.idempotencyKey,
        r.createdAt,
      );
      this.run(
        `INSERT INTO items (id, job_id, seq, custom_id, tenant, key_sha, endpoint, body, prefix_key, rank, enqueued_at, state, not_before, updated_at)
        VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, 0, ?, 'queued', ?, ?)`,
        `${r.id}.0`,
        r.id,
        item.customId,
        r.tenant,
        keySha,
        item.endpoint,
        item.body,
        item.prefixKey,
        now,
        now,
        now,
      );
      return { record: r, created: true };
    });
  }

  async getRequest(id: string): Promise<RequestRecord | undefined> {
    const r = this.get('SELECT data FROM requests WHERE id = ?', id);
    return r === undefined ? undefined : (JSON.parse(String(r.data)) as RequestRecord);
  }

  async item(id: string): Promise<ItemView | undefined> {
    const r = this.get(
      `SELECT i.*, r.status AS r_status, r.body AS r_body, r.body_path AS r_body_path, r.request_id AS r_request_id
      FROM items i LEFT JOIN results r ON r.item_id = i.id WHERE i.id = ?`,
      id,
    );
    return r === undefined ? undefined : viewOf(r);
  }

  async lease(
    owner: string,
    n: number,
    nowMs: number,
    leaseUntil: number,
    skipTenants: readonly string[],
  ): Promise<LeasedItem[]> {
    if (n <= 0) return [];
    return this.tx(() => {
      // A lease that ran out belongs to an instance that died (a live one renews it): its items run again.
      this.run(
        "UPDATE items SET state = 'queued', lease_owner = NULL, updated_at = ? WHERE state = 'running' AND lease_until < ?",
        nowMs,
        nowMs,
      );
      const rows = this.all(
        `SELECT id, job_id, custom_id, tenant, key_sha, endpoint, body, attempts FROM items
        WHERE state = 'queued' AND not_before <= ? AND tenant NOT IN (SELECT value FROM json_each(?))
        ORDER BY rank, enqueued_at, job_id, prefix_key, seq LIMIT ?`,
        nowMs,
        JSON.stringify(skipTenants),
        n,
      );
      const take = this.db.prepare(
        "UPDATE items SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?",
      );
      return rows.map((r) => {
        take.run(owner, leaseUntil, nowMs, r.id as string);
        return {
          id: String(r.id),
          jobId: String(r.job_id),
          customId: String(r.custom_id),
          tenant: String(r.tenant),
          keySha: r.key_sha === null ? null : String(r.key_sha),
          endpoint: r.endpoint as LeasedItem['endpoint'],
          body: String(r.body),
          attempts: Number(r.attempts) + 1,
        };
      });
    });
  }

  async renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    this.run(
      "UPDATE items SET lease_until = ? WHERE lease_owner = ? AND state = 'running' AND id IN (SELECT value FROM json_each(?))",
      leaseUntil,
      owner,
      JSON.stringify(ids),
    );
  }

  async complete(id: string, result: ItemResult, nowMs: number): Promise<boolean> {
    return this.tx(() => {
      const first = this.run(
        'INSERT OR IGNORE INTO results (item_id, status, body, body_path, request_id, completed_at) VALUES (?, ?, ?, ?, ?, ?)',
        id,
        result.status,
        result.body,
        result.bodyPath,
        result.requestId,
        nowMs,
      );
      if (first === 0) return false;
      const state: ItemState = result.status >= 200 && result.status < 300 ? 'done' : 'failed';
      this.run(
        "UPDATE items SET state = ?, lease_owner = NULL, updated_at = ? WHERE id = ? AND state IN ('running', 'queued', 'cancelled', 'expired', 'dead')",
        state,
        nowMs,
        id,
      );
      this.requestFinished(id, nowMs);
      return true;
    });
  }

  /** An async request's item reached an end: its webhook (if any) becomes due. */
  private requestFinished(itemId: string, nowMs: number): void {
    const jobId = String(this.get('SELECT job_id FROM items WHERE id = ?', itemId)?.job_id ?? '');
    this.run(
      "UPDATE requests SET done_at = ?, webhook_state = CASE WHEN json_extract(data, '$.webhookUrl') IS NULL THEN 'none' ELSE 'pending' END, webhook_next_at = ?, webhook_attempts = 0 WHERE id = ?",
      nowMs,
      nowMs,
      jobId,
    );
  }

  async retryLater(
    id: string,
    owner: string,
    error: string,
    atMs: number,
    counted: boolean,
    nowMs: number,
  ): Promise<void> {
    this.run(
      `UPDATE items SET state = 'queued', lease_owner = NULL, not_before = ?, last_error = ?, updated_at = ?, attempts = attempts - ?
      WHERE id = ? AND state = 'running' AND lease_owner = ?`,
      atMs,
      error,
      nowMs,
      counted ? 0 : 1,
      id,
      owner,
    );
  }

  async kill(id: string, owner: string, error: string, nowMs: number): Promise<void> {
    this.tx(() => {
      const n = this.run(
        "UPDATE items SET state = 'dead', lease_owner = NULL, last_error = ?, updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
        error,
        nowMs,
        id,
        owner,
      );
      if (n > 0) this.requestFinished(id, nowMs);
    });
  }

  async deadLetters(limit: number, after: string | null): Promise<ItemView[]> {
    const rows = this.all(
      `SELECT i.*, NULL AS r_status FROM items i WHERE state = 'dead' AND id > ? ORDER BY id LIMIT ?`,
      after ?? '',
      limit,
    );
    return rows.map(viewOf);
  }

  async requeue(id: string, nowMs: number): Promise<boolean> {
    return this.durableTx(() => {
      const n = this.run(
        "UPDATE items SET state = 'queued', attempts = 0, not_before = ?, updated_at = ? WHERE id = ? AND state = 'dead'",
        nowMs,
        nowMs,
        id,
      );
      if (n === 0) return false;
      const jobId = String(this.get('SELECT job_id FROM items WHERE id = ?', id)?.job_id);
      // Its batch may already be finalized without it: it opens again and is finalized anew when the item ends.
      const b = this.get('SELECT status FROM batches WHERE id = ?', jobId);
      if (b !== undefined && b.status !== 'in_progress')
        this.patchBatch(jobId, { status: 'in_progress', completedAt: null, finalizingAt: null });
      this.run("UPDATE requests SET done_at = NULL, webhook_state = 'none' WHERE id = ?", jobId);
      return true;
    });
  }

  async purgeDead(id: string | null): Promise<number> {
    return id === null
      ? this.run("DELETE FROM items WHERE state = 'dead'")
      : this.run("DELETE FROM items WHERE state = 'dead' AND id = ?", id);
  }

  async stats(): Promise<JobCounts> {
    const byState = Object.fromEntries(ITEM_STATES.map((s) => [s, 0])) as Record<ItemState, number>;
    for (const r of this.all('SELECT state, count(*) AS n FROM items GROUP BY state'))
      byState[r.state as ItemState] = Number(r.n);
    const oldest = this.get("SELECT min(enqueued_at) AS t FROM items WHERE state = 'queued'")?.t;
    return { byState, oldestQueuedAt: oldest === null || oldest === undefined ? null : Number(oldest) };
  }

  async webhooksDue(nowMs: number, limit: number): Promise<WebhookDue[]> {
    return this.all(
      "SELECT id, json_extract(data, '$.webhookUrl') AS url, webhook_attempts FROM requests WHERE webhook_state = 'pending' AND webhook_next_at <= ? LIMIT ?",
      nowMs,
      limit,
    ).map((r) => ({ requestId: String(r.id), url: String(r.url), attempts: Number(r.webhook_attempts) }));
  }

  async webhookDone(requestId: string, delivered: boolean, nextAtMs: number | null): Promise<void> {
    const state = delivered ? 'delivered' : nextAtMs === null ? 'failed' : 'pending';
    this.run(
      'UPDATE requests SET webhook_state = ?, webhook_attempts = webhook_attempts + 1, webhook_next_at = ? WHERE id = ?',
      state,
      nextAtMs,
      requestId,
    );
  }

  async sweep(olderThanMs: number): Promise<string[]> {
    return this.tx(() => {
      const paths: string[] = [];
      const jobs = [
        ...this.all('SELECT id, data FROM batches WHERE done_at IS NOT NULL AND done_at < ?', olderThanMs).map((r) => {
          const b = JSON.parse(String(r.data)) as BatchRecord;
          return { id: String(r.id), files: [b.outputFileId, b.errorFileId] };
        }),
        ...this.all('SELECT id FROM requests WHERE done_at IS NOT NULL AND done_at < ?', olderThanMs).map((r) => ({
          id: String(r.id),
          files: [] as (string | null)[],
        })),
      ];
      for (const j of jobs) {
        for (const r of this.all(
          'SELECT r.body_path FROM results r JOIN items i ON i.id = r.item_id WHERE i.job_id = ? AND r.body_path IS NOT NULL',
          j.id,
        ))
          paths.push(String(r.body_path));
        this.run('DELETE FROM results WHERE item_id IN (SELECT id FROM items WHERE job_id = ?)', j.id);
        this.run('DELETE FROM items WHERE job_id = ?', j.id);
        this.run('DELETE FROM batches WHERE id = ?', j.id);
        this.run('DELETE FROM requests WHERE id = ?', j.id);
        for (const f of j.files) if (f !== null) paths.push(...this.dropFile(f));
      }
      for (const r of this.all(
        "SELECT id FROM files WHERE created_at * 1000 < ? AND id NOT IN (SELECT json_extract(data, '$.inputFileId') FROM batches)",
        olderThanMs,
      )) {
        paths.push(...this.dropFile(String(r.id)));
      }
      return paths;
    });
  }

  private dropFile(id: string): string[] {
    const r = this.get('SELECT path FROM files WHERE id = ?', id);
    if (r === undefined) return [];
    this.run('DELETE FROM files WHERE id = ?', id);
    return [String(r.path)];
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

function fileOf(r: Row): FileRecord {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    purpose: String(r.purpose),
    filename: String(r.filename),
    bytes: Number(r.bytes),
    createdAt: Number(r.created_at),
    path: String(r.path),
  };
}

function viewOf(r: Row): ItemView {
  return {
    id: String(r.id),
    jobId: String(r.job_id),
    customId: String(r.custom_id),
    tenant: String(r.tenant),
    state: r.state as ItemState,
    attempts: Number(r.attempts),
    lastError: r.last_error === null ? null : String(r.last_error),
    enqueuedAt: Number(r.enqueued_at),
    updatedAt: Number(r.updated_at),
    result:
      r.r_status === null || r.r_status === undefined
        ? null
        : {
            status: Number(r.r_status),
            body: r.r_body === null ? null : String(r.r_body),
            bodyPath: r.r_body_path === null ? null : String(r.r_body_path),
            requestId: String(r.r_request_id),
          },
  };
}
