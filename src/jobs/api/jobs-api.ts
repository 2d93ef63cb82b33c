import { createReadStream, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { GatewayKey, JobsConfig } from '../../config/types.ts';
import { SpillwayError } from '../../errors.ts';
import type { Logger } from '../../observe/log.ts';
import { renderError, toSpillwayError } from '../../api/render-error.ts';
import { readJsonObject } from '../../api/read-json-object.ts';
import { sendJson } from '../../server/send-json.ts';
import { parseDuration } from '../../config/duration.ts';
import { BATCH_ENDPOINTS, parseBatchLine } from './batch-line.ts';
import { receiveUpload } from './file-upload.ts';
import { decodeSegment } from '../../server/request-target.ts';
import { newId } from '../store/ids.ts';
import { batchObject, fileObject, jobObject } from './job-objects.ts';
import type { BatchRecord, JobStore, NewItem } from '../store/job-store.ts';
import { prefixKey } from '../run/prefix-key.ts';
import { LineTooLongError, readLines } from './read-lines.ts';
import { storeError } from '../store/guard-store.ts';

export interface JobsApiDeps {
  config: JobsConfig;
  /** `server.body_timeout`: for an upload, the longest pause between two chunks. */
  bodyTimeoutMs: number;
  /** `server.upload_timeout`: the longest a whole upload may take. */
  uploadTimeoutMs: number;
  /**
   * `server.body_limit_bytes`: also the longest line of a batch input file. Each line runs as one request through
   * the gateway's own listener, where a larger body would be refused anyway, so it is refused at batch creation.
   */
  bodyLimitBytes: number;
  store: JobStore;
  /** The gateway keys in force now (a reload may change them). */
  keys: () => readonly GatewayKey[];
  wall: Clock;
  log: Logger;
  wake: () => void;
  isDraining: () => boolean;
}

interface Caller {
  tenant: string;
  keySha: string | null;
}

type Handler = (req: IncomingMessage, res: ServerResponse, caller: Caller, params: string[], url: URL) => Promise<void>;

/**
 * The OpenAI Files and Batches API (the part batches need) and `GET /v1/jobs/{id}` for async requests, served with
 * and without `/v1` like the model routes. With gateway keys, every call needs one and sees only its tenant's files,
 * batches and jobs (someone else's id answers 404, as if it did not exist).
 */
export class JobsApi {
  private readonly d: JobsApiDeps;
  private byHash: { keys: readonly GatewayKey[]; map: Map<string, GatewayKey> } | undefined;
  private readonly routes: { method: string; pattern: RegExp; handle: Handler }[];
  /** Uploads in progress per tenant and the bytes each may still write: parallel uploads share one quota. */
  private readonly uploading = new Map<string, { files: number; bytes: number }>();

  constructor(deps: JobsApiDeps) {
    this.d = deps;
    this.routes = [
      { method: 'POST', pattern: /^\/files$/, handle: (req, res, c) => this.uploadFile(req, res, c) },
      { method: 'GET', pattern: /^\/files$/, handle: (_q, res, c, _p, url) => this.listFiles(res, c, url) },
      { method: 'GET', pattern: /^\/files\/([^/]+)$/, handle: (_q, res, c, p) => this.getFile(res, c, p[0] as string) },
      {
        method: 'DELETE',
        pattern: /^\/files\/([^/]+)$/,
        handle: (_q, res, c, p) => this.deleteFile(res, c, p[0] as string),
      },
      {
        method: 'GET',
        pattern: /^\/files\/([^/]+)\/content$/,
        handle: (_q, res, c, p) => this.fileContent(res, c, p[0] as string),
      },
      { method: 'POST', pattern: /^\/batches$/, handle: (req, res, c) => this.createBatch(req, res, c) },
      { method: 'GET', pattern: /^\/batches$/, handle: (_q, res, c, _p, url) => this.listBatches(res, c, url) },
      {
        method: 'GET',
        pattern: /^\/batches\/([^/]+)$/,
        handle: (_q, res, c, p) => this.getBatch(res, c, p[0] as string),
      },
      {
        method: 'POST',
        pattern: /^\/batches\/([^/]+)\/cancel$/,
        handle: (_q, res, c, p) => this.cancelBatch(res, c, p[0] as string),
      },
      { method: 'GET', pattern: /^\/jobs\/([^/]+)$/, handle: (_q, res, c, p) => this.getJob(res, c, p[0] as string) },
    ];
  }

  /** True when the path is one of these routes (answered here); false for everything else. */
  handle(req: IncomingMessage, res: ServerResponse, rawPath: string): boolean {
    let path = rawPath.startsWith('/v1/') ? rawPath.slice(3) : rawPath;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (!/^\/(files|batches|jobs)(\/|$)/.test(path)) return false;
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (m === null) continue;
      if (r.method !== req.method) {
        allowed.push(r.method);
        continue;
      }
      const url = new URL(req.url ?? '/', 'http://gateway');
      Promise.resolve()
        .then(() => {
          if (req.method === 'POST' && this.d.isDraining())
            throw new SpillwayError('draining', 'The gateway is shutting down and takes no new jobs.', {
              retryAfterS: 1,
            });
          const params = m.slice(1).map(decodeSegment);
          if (params.includes(undefined))
            throw new SpillwayError('invalid_request', 'The request path is not valid percent-encoding.');
          return r.handle(req, res, this.caller(req), params as string[], url);
        })
        .catch((err: unknown) => {
          req.resume();
          if (!res.headersSent) renderError(res, toSpillwayError(err, this.d.log, 'jobs'));
          else res.destroy();
        });
      return true;
    }
    req.resume();
    if (allowed.length > 0) {
      res.setHeader('allow', allowed.join(', '));
      renderError(
        res,
        new SpillwayError(
          'method_not_allowed',
          `${req.method ?? ''} is not allowed on ${rawPath}; use ${allowed.join(' or ')}.`,
        ),
      );
    } else {
      renderError(res, new SpillwayError('not_found', `Unknown path ${rawPath}.`));
    }
    return true;
  }

  private keyMap(): Map<string, GatewayKey> {
    const keys = this.d.keys();
    if (this.byHash?.keys !== keys) this.byHash = { keys, map: new Map(keys.map((k) => [k.sha256, k])) };
    return this.byHash.map;
  }

  private caller(req: IncomingMessage): Caller {
    const byHash = this.keyMap();
    if (byHash.size === 0) return { tenant: '', keySha: null };
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
    const presented = m?.[1] ?? one(req.headers['api-key']) ?? one(req.headers['x-api-key']);
    if (presented === undefined)
      throw new SpillwayError('unauthorized', 'Missing API key: send it as "Authorization: Bearer <key>".');
    const key = byHash.get(createHash('sha256').update(presented).digest('hex'));
    if (key === undefined) throw new SpillwayError('unauthorized', 'Incorrect API key provided.');
    return { tenant: key.tenant, keySha: key.sha256 };
  }

  private async uploadFile(req: IncomingMessage, res: ServerResponse, c: Caller): Promise<void> {
    const nowMs = this.d.wall.now();
    const id = newId('file', nowMs);
    const limit = await this.reserveUpload(c.tenant, Number(req.headers['content-length'] ?? 0));
    let f;
    try {
      // Called inside a promise so a synchronous throw (the files directory cannot be created) is classified too.
      const up = await Promise.resolve()
        .then(() =>
          receiveUpload(req, join(this.d.config.dataDir, 'files'), `${id}.jsonl`, {
            maxBytes: limit,
            idleTimeoutMs: this.d.bodyTimeoutMs,
            totalTimeoutMs: this.d.uploadTimeoutMs,
          }),
        )
        .catch((err: unknown) => {
          // receiveUpload knows one bound; when the quota was the tighter one, say so.
          if (
            limit < this.d.config.maxFileBytes &&
            err instanceof SpillwayError &&
            err.code === 'job_storage_full' &&
            err.message.includes(`(${limit} bytes)`)
          ) {
            throw quotaError(
              `the file would take tenant storage past jobs.tenant_max_stored_bytes (${this.d.config.tenantMaxStoredBytes} bytes)`,
            );
          }
          throw storeError(err); // a full disk while writing it: 507 disk_full, as the store's own
        });
      f = {
        id,
        tenant: c.tenant,
        purpose: up.purpose,
        filename: up.filename,
        bytes: up.bytes,
        createdAt: Math.floor(nowMs / 1000),
        path: up.path,
      };
      const stored = f;
      // A file the store could not record is nobody's: removed, so a full disk or an outage leaves nothing behind.
      await this.d.store.addFile(stored).catch((err: unknown) => {
        rmSync(stored.path, { force: true });
        throw err;
      });
    } finally {
      // Released once the file is listed (or failed), so no moment counts it nowhere.
      this.releaseUpload(c.tenant, limit);
    }
    sendJson(res, 200, fileObject(f));
  }

  /**
   * Per-tenant storage quota (files and bytes, uploads and batch output files alike, in progress included): what
   * one tenant may put on this disk, whatever the retention. Returns the bytes this upload may write.
   */
  private async reserveUpload(tenant: string, declaredBytes: number): Promise<number> {
    const cfg = this.d.config;
    const held = await this.d.store.listFiles(tenant, null, cfg.tenantMaxFiles + 1);
    const busy = this.uploading.get(tenant) ?? { files: 0, bytes: 0 };
    if (held.length + busy.files >= cfg.tenantMaxFiles) {
      throw quotaError(
        `the tenant holds ${held.length} files${busy.files > 0 ? ` (and ${busy.files} uploading)` : ''}, jobs.tenant_max_files is ${cfg.tenantMaxFiles}`,
      );
    }
    const used = held.reduce((sum, f) => sum + f.bytes, 0) + busy.bytes;
    const limit = Math.min(cfg.maxFileBytes, cfg.tenantMaxStoredBytes - used);
    // The multipart body is a little larger than the file: only a body that cannot fit is refused before reading.
    if (limit <= 0 || (limit < cfg.maxFileBytes && declaredBytes > limit + 64 * 1024)) {
      throw quotaError(
        `the tenant's files take ${used} of jobs.tenant_max_stored_bytes (${cfg.tenantMaxStoredBytes} bytes)`,
      );
    }
    this.uploading.set(tenant, { files: busy.files + 1, bytes: busy.bytes + limit });
    return limit;
  }

  private releaseUpload(tenant: string, bytes: number): void {
    const busy = this.uploading.get(tenant);
    if (busy === undefined) return;
    if (busy.files <= 1) this.uploading.delete(tenant);
    else this.uploading.set(tenant, { files: busy.files - 1, bytes: busy.bytes - bytes });
  }

  private async fileOf(c: Caller, id: string) {
    const f = await this.d.store.getFile(id);
    if (f === undefined || f.tenant !== c.tenant)
      throw new SpillwayError('file_not_found', `No such file: ${id}.`, { param: 'file_id' });
    return f;
  }

  private async getFile(res: ServerResponse, c: Caller, id: string): Promise<void> {
    sendJson(res, 200, fileObject(await this.fileOf(c, id)));
  }

  private async listFiles(res: ServerResponse, c: Caller, url: URL): Promise<void> {
    const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get('limit') ?? 10_000) || 10_000));
    const purpose = url.searchParams.get('purpose');
    const page = await this.d.store.listFiles(c.tenant, url.searchParams.get('after'), limit + 1);
    const shown = page.slice(0, limit).filter((f) => purpose === null || f.purpose === purpose);
    sendJson(res, 200, {
      object: 'list',
      data: shown.map(fileObject),
      first_id: shown[0]?.id ?? null,
      last_id: shown[shown.length - 1]?.id ?? null,
      has_more: page.length > limit,
    });
  }

  /** Forgets the file and deletes its bytes; a batch already created from it keeps its items. */
  private async deleteFile(res: ServerResponse, c: Caller, id: string): Promise<void> {
    await this.fileOf(c, id);
    const f = await this.d.store.deleteFile(id);
    if (f !== undefined) rmSync(f.path, { force: true });
    sendJson(res, 200, { id, object: 'file', deleted: true });
  }

  private async fileContent(res: ServerResponse, c: Caller, id: string): Promise<void> {
    const f = await this.fileOf(c, id);
    res.writeHead(200, { 'content-type': 'application/jsonl', 'content-length': f.bytes });
    createReadStream(f.path)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  private async createBatch(req: IncomingMessage, res: ServerResponse, c: Caller): Promise<void> {
    const body = await readJsonObject(req, {
      what: 'The request body',
      limit: 1024 * 1024,
      timeoutMs: this.d.bodyTimeoutMs,
    });
    const endpoint = body.endpoint;
    if (typeof endpoint !== 'string' || !(endpoint in BATCH_ENDPOINTS)) {
      throw new SpillwayError(
        'unsupported_endpoint',
        `endpoint must be one of ${Object.keys(BATCH_ENDPOINTS).join(', ')}.`,
        { param: 'endpoint' },
      );
    }
    if (typeof body.input_file_id !== 'string')
      throw new SpillwayError('invalid_request', 'input_file_id is required.', { param: 'input_file_id' });
    const window = body.completion_window ?? '24h';
    const windowMs = typeof window === 'string' ? parseDuration(window) : undefined;
    if (windowMs === undefined || windowMs <= 0)
      throw new SpillwayError('invalid_request', 'completion_window must be a duration such as "24h".', {
        param: 'completion_window',
      });
    const metadata = body.metadata ?? null;
    if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata)))
      throw new SpillwayError('invalid_request', 'metadata must be an object of strings.', { param: 'metadata' });
    const file = await this.fileOf(c, body.input_file_id);
    const items = await this.readItems(file.path, endpoint);
    const nowMs = this.d.wall.now();
    const nowS = Math.floor(nowMs / 1000);
    const b: BatchRecord = {
      id: newId('batch', nowMs),
      tenant: c.tenant,
      endpoint,
      inputFileId: file.id,
      completionWindow: window as string,
      status: 'in_progress',
      outputFileId: null,
      errorFileId: null,
      metadata: metadata as Record<string, string> | null,
      createdAt: nowS,
      inProgressAt: nowS,
      expiresAt: nowS + Math.ceil(windowMs / 1000),
      finalizingAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      cancellingAt: null,
      cancelledAt: null,
    };
    await this.d.store.createBatch(b, c.keySha, items, this.d.config.maxItems);
    this.d.wake();
    sendJson(res, 200, batchObject(b, { total: items.length, completed: 0, failed: 0 }));
  }

  /** Reads and checks every line before anything is stored: a bad file creates no batch. */
  private async readItems(path: string, endpoint: string): Promise<NewItem[]> {
    const items: NewItem[] = [];
    const seen = new Set<string>();
    const kind = BATCH_ENDPOINTS[endpoint] as NewItem['endpoint'];
    let lineNo = 0;
    const lines = readLines(path, this.d.bodyLimitBytes);
    for (;;) {
      let next: IteratorResult<string>;
      try {
        next = await lines.next();
      } catch (err) {
        if (!(err instanceof LineTooLongError)) throw err;
        throw new SpillwayError(
          'invalid_batch_line',
          `Line ${err.lineNo} of the input file is longer than server.body_limit_bytes (${this.d.bodyLimitBytes} bytes), the largest request a line may be.`,
          { param: `line ${err.lineNo}` },
        );
      }
      if (next.done === true) break;
      const text = next.value;
      lineNo++;
      if (text.trim() === '') continue;
      const l = parseBatchLine(text, lineNo, endpoint);
      if (seen.has(l.customId))
        throw new SpillwayError(
          'invalid_batch_line',
          `Line ${lineNo} of the input file repeats custom_id ${JSON.stringify(l.customId)}; each must be unique.`,
          { param: `line ${lineNo}` },
        );
      seen.add(l.customId);
      if (items.length >= this.d.config.maxBatchItems)
        throw new SpillwayError(
          'invalid_batch_line',
          `The input file has more than jobs.max_batch_items (${this.d.config.maxBatchItems}) lines.`,
          { param: `line ${lineNo}` },
        );
      items.push({
        seq: items.length,
        customId: l.customId,
        endpoint: kind,
        body: JSON.stringify(l.body),
        prefixKey: prefixKey(l.body, this.d.config.prefixChars),
      });
    }
    if (items.length === 0)
      throw new SpillwayError('invalid_batch_line', 'The input file has no request lines.', { param: 'input_file_id' });
    return items;
  }

  private async batchOf(c: Caller, id: string): Promise<BatchRecord> {
    const b = await this.d.store.getBatch(id);
    if (b === undefined || b.tenant !== c.tenant)
      throw new SpillwayError('batch_not_found', `No such batch: ${id}.`, { param: 'batch_id' });
    return b;
  }

  private async getBatch(res: ServerResponse, c: Caller, id: string): Promise<void> {
    const b = await this.batchOf(c, id);
    sendJson(res, 200, batchObject(b, await this.d.store.counts(b.id)));
  }

  private async listBatches(res: ServerResponse, c: Caller, url: URL): Promise<void> {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    const after = url.searchParams.get('after');
    const page = await this.d.store.listBatches(c.tenant, after, limit + 1);
    const shown = page.slice(0, limit);
    const data = await Promise.all(shown.map(async (b) => batchObject(b, await this.d.store.counts(b.id))));
    sendJson(res, 200, {
      object: 'list',
      data,
      first_id: shown[0]?.id ?? null,
      last_id: shown[shown.length - 1]?.id ?? null,
      has_more: page.length > limit,
    });
  }

  private async cancelBatch(res: ServerResponse, c: Caller, id: string): Promise<void> {
    await this.batchOf(c, id);
    const b = await this.d.store.cancelBatch(id, this.d.wall.now());
    if (b === undefined) throw new SpillwayError('batch_not_found', `No such batch: ${id}.`, { param: 'batch_id' });
    this.d.wake();
    sendJson(res, 200, batchObject(b, await this.d.store.counts(id)));
  }

  private async getJob(res: ServerResponse, c: Caller, id: string): Promise<void> {
    const r = await this.d.store.getRequest(id);
    const item = r === undefined ? undefined : await this.d.store.item(`${id}.0`);
    if (r === undefined || item === undefined || r.tenant !== c.tenant)
      throw new SpillwayError('job_not_found', `No such job: ${id}.`, { param: 'job_id' });
    sendJson(res, 200, jobObject(r, item));
  }
}

function quotaError(why: string): SpillwayError {
  return new SpillwayError(
    'upload_quota_exceeded',
    `Upload refused: ${why}. Delete files (DELETE /v1/files/{id}) or wait for jobs.retention to remove finished ones.`,
  );
}

function one(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}
