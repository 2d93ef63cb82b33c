import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { entrySize, type ResponseStore, type ResponseStoreLimits, type StoredResponse } from './response-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  tenant TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS responses_tenant_age ON responses (tenant, created_at);
CREATE INDEX IF NOT EXISTS responses_age ON responses (created_at);
CREATE TABLE IF NOT EXISTS response_bytes (tenant TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
`;

/** Expired rows are deleted at most this often (a put checks): one indexed range delete. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Stored responses in SQLite (node:sqlite, WAL), a file of their own beside the job store's (`responses.sqlite`
 * under `jobs.data_dir`): they survive a restart. A put is one transaction: the entry, then the tenant's oldest
 * out while it holds more than its allowance (a running byte count per tenant, so a put never sums a table). A put commits with `synchronous=NORMAL` (in WAL mode that survives
 * a killed process; a power cut may lose the last ones, which a client then sends again as history). The file is
 * opened on the first use, so a gateway whose clients never store a response writes nothing.
 */
export class SqliteResponseStore implements ResponseStore {
  private readonly dir: string;
  private readonly limits: ResponseStoreLimits;
  private readonly now: () => number;
  private db: DatabaseSync | undefined;
  private sweptAt = 0;

  constructor(dataDir: string, limits: ResponseStoreLimits) {
    this.dir = dataDir;
    this.limits = limits;
    this.now = limits.now ?? Date.now;
  }

  private open(): DatabaseSync {
    if (this.db !== undefined) return this.db;
    mkdirSync(this.dir, { recursive: true });
    const db = new DatabaseSync(join(this.dir, 'responses.sqlite'));
    db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;');
    db.exec(SCHEMA);
    this.db = db;
    return db;
  }

  get(id: string, tenant: string | undefined): Promise<StoredResponse | undefined> {
    const row = this.open()
      .prepare('SELECT data FROM responses WHERE tenant = ? AND id = ? AND created_at > ?')
      .get(tenant ?? '', id, this.now() - this.limits.retentionMs) as { data: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row.data) as StoredResponse));
  }

  put(r: StoredResponse, tenant: string | undefined): Promise<void> {
    const id = r.response.id;
    if (typeof id !== 'string') return Promise.resolve();
    const data = JSON.stringify(r);
    const bytes = entrySize(data, id);
    if (bytes > this.limits.tenantMaxBytes) return Promise.resolve();
    const db = this.open();
    const now = this.now();
    const t = tenant ?? '';
    const count = db.prepare(
      'INSERT INTO response_bytes (tenant, bytes) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET bytes = bytes + excluded.bytes',
    );
    const drop = db.prepare('DELETE FROM responses WHERE tenant = ? AND id = ? RETURNING bytes');
    db.exec('BEGIN IMMEDIATE');
    try {
      if (now - this.sweptAt >= SWEEP_EVERY_MS) {
        const gone = db
          .prepare('DELETE FROM responses WHERE created_at <= ? RETURNING tenant, bytes')
          .all(now - this.limits.retentionMs) as { tenant: string; bytes: number }[];
        for (const g of gone) count.run(g.tenant, -g.bytes);
        this.sweptAt = now;
      }
      const replaced = drop.get(t, id) as { bytes: number } | undefined;
      db.prepare('INSERT INTO responses (tenant, id, data, bytes, created_at) VALUES (?, ?, ?, ?, ?)').run(
        t,
        id,
        data,
        bytes,
        now,
      );
      count.run(t, bytes - (replaced?.bytes ?? 0));
      let held = Number(
        (db.prepare('SELECT bytes FROM response_bytes WHERE tenant = ?').get(t) as { bytes: number }).bytes,
      );
      const oldest = db.prepare(
        'SELECT id FROM responses WHERE tenant = ? AND id != ? ORDER BY created_at, id LIMIT 32',
      );
      while (held > this.limits.tenantMaxBytes) {
        const rows = oldest.all(t, id) as { id: string }[];
        if (rows.length === 0) break;
        for (const o of rows) {
          if (held <= this.limits.tenantMaxBytes) break;
          const b = (drop.get(t, o.id) as { bytes: number } | undefined)?.bytes ?? 0;
          count.run(t, -b);
          held -= b;
        }
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
    return Promise.resolve();
  }
}
