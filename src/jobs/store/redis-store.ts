import type { Redis } from 'ioredis';
import { redisClient } from '../../state/load-redis.ts';
import { SpillwayError } from '../../errors.ts';
import type { Logger } from '../../observe/log.ts';
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
 * The shared job store: several gateway instances take items from one Redis, at least once, and record each result
 * exactly once.
 *
 * - Runnable items are entries of two Redis Streams (s0: async requests, read first; s1: batch items, added in
 *   prompt-prefix order) read by one consumer group. Delivery to an instance is its lease; a live instance renews it
 *   (XCLAIM resets the idle time); a dead instance's entries are taken over with XAUTOCLAIM once idle past the
 *   lease. Backoffs wait in a sorted set and are moved back onto the stream when due.
 * - Each state change is one Lua script that checks the current state, so two instances cannot both move an item,
 *   and keeps the per-job and global counts in step. Completion is `SET result NX` inside that script: a second run's
 *   result (after a takeover) is ignored.
 * - Every key carries the `{jobs}` hash tag, so the multi-key scripts also run on Redis Cluster.
 *
 * Longer than the house limit of 400 lines on purpose: it is one implementation of one interface (JobStore), and its
 * Lua scripts and the key layout below are only readable next to the methods that use them.
 *
 * Uploaded and output files stay on disk under jobs.data_dir: instances sharing a Redis must share that directory
 * (a volume); only metadata lives in Redis (docs/jobs.md).
 *
 * Keys (P = "spillway:" + prefix + "{jobs}:"):
 *   P s0, P s1                stream entries {item: id}, group "runners"
 *   P delayed                 zset "<rank>|<item id>" → not-before ms
 *   P item:<id>               hash: job_id seq custom_id tenant key_sha endpoint body state attempts last_error ...
 *   P result:<item id>        JSON ItemResult, written once (SET NX)
 *   P counts:<job id>         hash state → items;   P stats: the same over all jobs;   P itemcount: items stored
 *   P total:<job id>          items in the job (their ids are <job id>.0 … .n-1)
 *   P batch:<id>, P req:<id>, P file:<id>   JSON records;   P batches:<tenant> zset of batch ids (by lex)
 *   P files:<tenant>          zset of "<created_at, 12 digits>|<file id>" (by lex: newest last)
 *   P open                    set of batch ids not finalized;   P done: zset job id → finish ms (retention)
 *   P idem:<tenant>:<key>     async request id;   P dead: zset of item ids (score 0: listed by id);   P webhooks: zset request id → due ms
 */
const GROUP = 'runners';

// KEYS: item, counts, stats. ARGV: allowed states (comma list), new state, now, then field/value pairs to set.
const TRANSITION_LUA = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return false end
local ok = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == st then ok = true end end
if not ok then return false end
if st ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[2], st, -1) redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[3], st, -1) redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return st`;

// KEYS: item, counts, stats. ARGV: owner, now, reclaimed ("1": an abandoned delivery, so "running" is taken too).
const TAKE_LUA = `
local st = redis.call('HGET', KEYS[1], 'state')
if st ~= 'queued' and not (st == 'running' and ARGV[3] == '1') then return false end
if st == 'queued' then
  redis.call('HINCRBY', KEYS[2], 'queued', -1) redis.call('HINCRBY', KEYS[2], 'running', 1)
  redis.call('HINCRBY', KEYS[3], 'queued', -1) redis.call('HINCRBY', KEYS[3], 'running', 1)
end
redis.call('HSET', KEYS[1], 'state', 'running', 'owner', ARGV[1], 'updated_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HMGET', KEYS[1], 'job_id', 'custom_id', 'tenant', 'key_sha', 'endpoint', 'body', 'attempts')`;

// KEYS: result, item, counts, stats, done, webhooks. ARGV: result JSON, new state, now, job id, has webhook ("1").
const COMPLETE_LUA = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
local st = redis.call('HGET', KEYS[2], 'state')
if st and st ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[3], st, -1) redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[4], st, -1) redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
  redis.call('HSET', KEYS[2], 'state', ARGV[2], 'updated_at', ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
  if ARGV[5] == '1' then redis.call('ZADD', KEYS[6], ARGV[3], ARGV[4]) end
end
return 1`;

// KEYS: delayed, s0, s1. ARGV: now, limit. Moves due backoffs back onto their stream.
const PROMOTE_LUA = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local key = KEYS[3]
  if string.sub(m, 1, 1) == '0' then key = KEYS[2] end
  redis.call('XADD', key, '*', 'item', string.sub(m, 3))
end
return #due`;

// KEYS: itemcount. ARGV: adding, max. Reserves room for items, atomically.
const RESERVE_LUA = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -n - 1 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return n`;

type Arg = string | number;
interface Scripts {
  jobsTransition(k1: string, k2: string, k3: string, ...args: Arg[]): Promise<string | null>;
  jobsTake(
    k1: string,
    k2: string,
    k3: string,
    owner: string,
    now: Arg,
    reclaimed: string,
  ): Promise<(string | null)[] | null>;
  jobsComplete(k1: string, k2: string, k3: string, k4: string, k5: string, k6: string, ...args: Arg[]): Promise<number>;
  jobsPromote(k1: string, k2: string, k3: string, now: Arg, limit: Arg): Promise<number>;
  jobsReserve(k1: string, adding: Arg, max: Arg): Promise<number>;
}

type StreamEntries = [string, string[]][];

export class RedisJobStore implements JobStore {
  private readonly redis: Redis & Scripts;
  private readonly p: string;
  /** Stream entry of each item this instance holds (to renew and acknowledge it). */
  private readonly entries = new Map<string, { stream: string; id: string }>();
  private readonly owners = new Map<string, string>();

  private constructor(redis: Redis, prefix: string) {
    this.redis = redis as Redis & Scripts;
    this.p = `spillway:${prefix}{jobs}:`;
  }

  static async connect(url: string, prefix: string, log: Logger): Promise<RedisJobStore> {
    const redis = new (redisClient())(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 2000 });
    redis.on('error', (err: unknown) => log.warn({ err }, 'job store: redis error'));
    redis.defineCommand('jobsTransition', { numberOfKeys: 3, lua: TRANSITION_LUA });
    redis.defineCommand('jobsTake', { numberOfKeys: 3, lua: TAKE_LUA });
    redis.defineCommand('jobsComplete', { numberOfKeys: 6, lua: COMPLETE_LUA });
    redis.defineCommand('jobsPromote', { numberOfKeys: 3, lua: PROMOTE_LUA });
    redis.defineCommand('jobsReserve', { numberOfKeys: 1, lua: RESERVE_LUA });
    await redis.connect();
    const s = new RedisJobStore(redis, prefix);
    for (const stream of [s.k('s0'), s.k('s1')]) {
      try {
        await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!String(err).includes('BUSYGROUP')) throw err;
      }
    }
    return s;
  }

  private k(...parts: string[]): string {
    return this.p + parts.join(':');
  }

  private jobOf(itemId: string): string {
    return itemId.slice(0, itemId.lastIndexOf('.'));
  }

  private transition(
    itemId: string,
    from: string,
    to: ItemState,
    nowMs: number,
    ...fields: Arg[]
  ): Promise<string | null> {
    return this.redis.jobsTransition(
      this.k('item', itemId),
      this.k('counts', this.jobOf(itemId)),
      this.k('stats'),
      from,
      to,
      nowMs,
      ...fields,
    );
  }

  async addFile(f: FileRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.k('file', f.id), JSON.stringify(f))
      .zadd(this.k('files', f.tenant), 0, fileMember(f))
      .exec();
  }

  async listFiles(tenant: string, after: string | null, limit: number): Promise<FileRecord[]> {
    const prev = after === null ? undefined : await this.getFile(after);
    const members = await this.redis.zrevrangebylex(
      this.k('files', tenant),
      prev === undefined ? '+' : `(${fileMember(prev)}`,
      '-',
      'LIMIT',
      0,
      limit,
    );
    const out: FileRecord[] = [];
    for (const m of members) {
      const f = await this.getFile(m.slice(m.indexOf('|') + 1));
      if (f !== undefined) out.push(f);
    }
    return out;
  }

  async deleteFile(id: string): Promise<FileRecord | undefined> {
    const f = await this.getFile(id);
    if (f !== undefined)
      await this.redis.multi().del(this.k('file', id)).zrem(this.k('files', f.tenant), fileMember(f)).exec();
    return f;
  }

  async getFile(id: string): Promise<FileRecord | undefined> {
    const v = await this.redis.get(this.k('file', id));
    return v === null ? undefined : (JSON.parse(v) as FileRecord);
  }

  private async reserve(adding: number, maxItems: number): Promise<void> {
    const n = await this.redis.jobsReserve(this.k('itemcount'), adding, maxItems);
    if (n < 0) {
      throw new SpillwayError(
        'job_storage_full',
        `The job store holds ${-n - 1} items and takes at most ${maxItems} (jobs.max_items); finished jobs are removed after jobs.retention.`,
        { retryAfterS: 60 },
      );
    }
  }

  private itemFields(jobId: string, tenant: string, keySha: string | null, it: NewItem, nowMs: number): Arg[] {
    return [
      'job_id',
      jobId,
      'seq',
      it.seq,
      'custom_id',
      it.customId,
      'tenant',
      tenant,
      'key_sha',
      keySha ?? '',
      'endpoint',
      it.endpoint,
      'body',
      it.body,
      'state',
      'queued',
      'attempts',
      0,
      'enqueued_at',
      nowMs,
      'updated_at',
      nowMs,
      'last_error',
      '',
    ];
  }

  async createBatch(b: BatchRecord, keySha: string | null, items: readonly NewItem[], maxItems: number): Promise<void> {
    await this.reserve(items.length, maxItems);
    const now = b.createdAt * 1000;
    const m = this.redis.multi();
    m.set(this.k('batch', b.id), JSON.stringify(b));
    m.zadd(this.k('batches', b.tenant), 0, b.id);
    m.sadd(this.k('open'), b.id);
    m.set(this.k('total', b.id), items.length);
    m.hset(this.k('counts', b.id), 'queued', items.length);
    m.hincrby(this.k('stats'), 'queued', items.length);
    for (const it of items)
      m.hset(this.k('item', `${b.id}.${it.seq}`), ...this.itemFields(b.id, b.tenant, keySha, it, now));
    // Stream order is run order: grouped by prompt prefix, then input order.
    const order = [...items].sort((x, y) =>
      x.prefixKey < y.prefixKey ? -1 : x.prefixKey > y.prefixKey ? 1 : x.seq - y.seq,
    );
    for (const it of order) m.xadd(this.k('s1'), '*', 'item', `${b.id}.${it.seq}`);
    await m.exec();
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const v = await this.redis.get(this.k('batch', id));
    return v === null ? undefined : (JSON.parse(v) as BatchRecord);
  }

  async listBatches(tenant: string, after: string | null, limit: number): Promise<BatchRecord[]> {
    const ids = await this.redis.zrevrangebylex(
      this.k('batches', tenant),
      after === null ? '+' : `(${after}`,
      '-',
      'LIMIT',
      0,
      limit,
    );
    const out: BatchRecord[] = [];
    for (const id of ids) {
      const b = await this.getBatch(id);
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  async counts(jobId: string): Promise<RequestCounts & { open: number }> {
    const h = await this.redis.hgetall(this.k('counts', jobId));
    const c = { total: 0, completed: 0, failed: 0, open: 0 };
    for (const [st, v] of Object.entries(h)) {
      const n = Number(v);
      c.total += n;
      if (st === 'done') c.completed += n;
      else if (st === 'queued' || st === 'running') c.open += n;
      else c.failed += n;
    }
    return c;
  }

  async setBatch(id: string, patch: Partial<BatchRecord>): Promise<void> {
    const b = await this.getBatch(id);
    if (b === undefined) return;
    const next = { ...b, ...patch };
    const m = this.redis.multi().set(this.k('batch', id), JSON.stringify(next));
    if (
      next.status === 'completed' ||
      next.status === 'cancelled' ||
      next.status === 'expired' ||
      next.status === 'failed'
    ) {
      m.srem(this.k('open'), id).zadd(this.k('done'), Date.now(), id);
    } else {
      m.sadd(this.k('open'), id).zrem(this.k('done'), id);
    }
    await m.exec();
  }

  private async eachItemId(jobId: string, fn: (ids: string[]) => Promise<void>): Promise<void> {
    const total = Number((await this.redis.get(this.k('total', jobId))) ?? 0);
    for (let from = 0; from < total; from += 500) {
      await fn(Array.from({ length: Math.min(500, total - from) }, (_, i) => `${jobId}.${from + i}`));
    }
  }

  async cancelBatch(id: string, nowMs: number): Promise<BatchRecord | undefined> {
    const b = await this.getBatch(id);
    if (b === undefined) return undefined;
    if (b.status !== 'in_progress' && b.status !== 'validating') return b;
    await this.setBatch(id, { status: 'cancelling', cancellingAt: Math.floor(nowMs / 1000) });
    await this.endQueued(id, 'cancelled', nowMs);
    return this.getBatch(id);
  }

  private async endQueued(jobId: string, to: 'cancelled' | 'expired', nowMs: number): Promise<void> {
    await this.eachItemId(jobId, async (ids) => {
      await Promise.all(
        ids.map((i) =>
          this.transition(i, 'queued', to, nowMs, 'last_error', to === 'cancelled' ? 'cancelled' : 'batch_expired'),
        ),
      );
    });
  }

  async toFinalize(nowMs: number): Promise<BatchRecord[]> {
    const out: BatchRecord[] = [];
    for (const id of await this.redis.smembers(this.k('open'))) {
      const b = await this.getBatch(id);
      if (b === undefined) continue;
      if (b.expiresAt * 1000 < nowMs || (await this.counts(id)).open === 0) out.push(b);
    }
    return out;
  }

  async expireItems(jobId: string, nowMs: number): Promise<void> {
    await this.endQueued(jobId, 'expired', nowMs);
  }

  async *items(jobId: string): AsyncIterable<ItemView> {
    const total = Number((await this.redis.get(this.k('total', jobId))) ?? 0);
    for (let from = 0; from < total; from += 500) {
      const ids = Array.from({ length: Math.min(500, total - from) }, (_, i) => `${jobId}.${from + i}`);
      const views = await this.views(ids);
      for (const v of views) if (v !== undefined) yield v;
    }
  }

  private async views(ids: readonly string[]): Promise<(ItemView | undefined)[]> {
    const pl = this.redis.pipeline();
    for (const id of ids) pl.hgetall(this.k('item', id)).get(this.k('result', id));
    const rs = (await pl.exec()) ?? [];
    return ids.map((id, i) => {
      const h = rs[2 * i]?.[1] as Record<string, string> | undefined;
      const r = rs[2 * i + 1]?.[1] as string | null | undefined;
      if (h === undefined || h.state === undefined) return undefined;
      return {
        id,
        jobId: h.job_id ?? '',
        customId: h.custom_id ?? '',
        tenant: h.tenant ?? '',
        state: h.state as ItemState,
        attempts: Number(h.attempts),
        lastError: h.last_error === '' || h.last_error === undefined ? null : h.last_error,
        enqueuedAt: Number(h.enqueued_at),
        updatedAt: Number(h.updated_at),
        result: r === null || r === undefined ? null : (JSON.parse(r) as ItemResult),
      };
    });
  }

  async createRequest(
    r: RequestRecord,
    keySha: string | null,
    item: NewItem,
    maxItems: number,
  ): Promise<{ record: RequestRecord; created: boolean }> {
    if (r.idempotencyKey !== null) {
      const idem = this.k('idem', r.tenant, r.idempotencyKey);
      // Claim the key first; a claim left behind by a crash before the request was written is taken over.
      const claimed = await this.redis.set(idem, r.id, 'NX');
      if (claimed === null) {
        const prev = await this.getRequest((await this.redis.get(idem)) ?? '');
        if (prev !== undefined) return { record: prev, created: false };
        await this.redis.set(idem, r.id);
      }
    }
    await this.reserve(1, maxItems);
    const now = r.createdAt * 1000;
    await this.redis
      .multi()
      .set(this.k('req', r.id), JSON.stringify(r))
      .set(this.k('total', r.id), 1)
      .hset(this.k('counts', r.id), 'queued', 1)
      .hincrby(this.k('stats'), 'queued', 1)
      .hset(this.k('item', `${r.id}.0`), ...this.itemFields(r.id, r.tenant, keySha, item, now))
      .xadd(this.k('s0'), '*', 'item', `${r.id}.0`)
      .exec();
    return { record: r, created: true };
  }

  async getRequest(id: string): Promise<RequestRecord | undefined> {
    const v = await this.redis.get(this.k('req', id));
    return v === null ? undefined : (JSON.parse(v) as RequestRecord);
  }

  async item(id: string): Promise<ItemView | undefined> {
    return (await this.views([id]))[0];
  }

  async lease(
    owner: string,
    n: number,
    nowMs: number,
    _leaseUntil: number,
    skipTenants: readonly string[],
  ): Promise<LeasedItem[]> {
    if (n <= 0) return [];
    await this.redis.jobsPromote(this.k('delayed'), this.k('s0'), this.k('s1'), nowMs, 1000);
    const leaseMs = Math.max(1, _leaseUntil - nowMs);
    const got: LeasedItem[] = [];
    for (const stream of [this.k('s0'), this.k('s1')]) {
      // Abandoned deliveries first: their instance stopped renewing them.
      const claimed = (await this.redis.xautoclaim(stream, GROUP, owner, leaseMs, '0-0', 'COUNT', n - got.length)) as [
        string,
        StreamEntries,
      ];
      await this.take(stream, claimed[1], owner, nowMs, true, skipTenants, got);
      if (got.length >= n) break;
      const fresh = (await this.redis.xreadgroup(
        'GROUP',
        GROUP,
        owner,
        'COUNT',
        n - got.length,
        'STREAMS',
        stream,
        '>',
      )) as [string, StreamEntries][] | null;
      await this.take(stream, fresh?.[0]?.[1] ?? [], owner, nowMs, false, skipTenants, got);
      if (got.length >= n) break;
    }
    return got;
  }

  private async take(
    stream: string,
    entries: StreamEntries,
    owner: string,
    nowMs: number,
    reclaimed: boolean,
    skipTenants: readonly string[],
    got: LeasedItem[],
  ): Promise<void> {
    for (const [entryId, fields] of entries) {
      const id = fields[1] ?? '';
      const v = await this.redis.jobsTake(
        this.k('item', id),
        this.k('counts', this.jobOf(id)),
        this.k('stats'),
        owner,
        nowMs,
        reclaimed ? '1' : '0',
      );
      if (v === null) {
        // Already ended (cancelled, done by a takeover, purged): drop the stale entry.
        await this.redis.multi().xack(stream, GROUP, entryId).xdel(stream, entryId).exec();
        continue;
      }
      const [jobId, customId, tenant, keySha, endpoint, body, attempts] = v as string[];
      this.entries.set(id, { stream, id: entryId });
      this.owners.set(id, owner);
      const it: LeasedItem = {
        id,
        jobId: jobId ?? '',
        customId: customId ?? '',
        tenant: tenant ?? '',
        keySha: keySha === '' || keySha === undefined ? null : keySha,
        endpoint: endpoint as LeasedItem['endpoint'],
        body: body ?? '',
        attempts: Number(attempts),
      };
      if (skipTenants.includes(it.tenant)) {
        // The tenant is at its job concurrency here: back to the queue shortly, the attempt not counted.
        await this.retryLater(id, owner, 'tenant at its job concurrency', nowMs + 200, false, nowMs);
        continue;
      }
      got.push(it);
    }
  }

  private async ack(id: string): Promise<void> {
    const e = this.entries.get(id);
    this.entries.delete(id);
    this.owners.delete(id);
    if (e !== undefined) await this.redis.multi().xack(e.stream, GROUP, e.id).xdel(e.stream, e.id).exec();
  }

  async renew(owner: string, ids: readonly string[], _leaseUntil: number): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e !== undefined && this.owners.get(id) === owner)
        byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.id]);
    }
    // XCLAIM by the same consumer resets the entries' idle time: the lease goes on.
    for (const [stream, entryIds] of byStream) await this.redis.xclaim(stream, GROUP, owner, 0, ...entryIds, 'JUSTID');
  }

  async complete(id: string, result: ItemResult, nowMs: number): Promise<boolean> {
    const jobId = this.jobOf(id);
    const state: ItemState = result.status >= 200 && result.status < 300 ? 'done' : 'failed';
    const req = await this.getRequest(jobId);
    const first = await this.redis.jobsComplete(
      this.k('result', id),
      this.k('item', id),
      this.k('counts', jobId),
      this.k('stats'),
      this.k('done'),
      this.k('webhooks'),
      JSON.stringify(result),
      state,
      nowMs,
      jobId,
      req === undefined ? '' : req.webhookUrl === null ? '0' : '1',
    );
    await this.ack(id);
    return first === 1;
  }

  async retryLater(
    id: string,
    owner: string,
    error: string,
    atMs: number,
    counted: boolean,
    nowMs: number,
  ): Promise<void> {
    const h = await this.redis.hmget(this.k('item', id), 'owner', 'attempts');
    if (h[0] !== owner) return;
    const prev = await this.transition(
      id,
      'running',
      'queued',
      nowMs,
      'last_error',
      error,
      'attempts',
      Math.max(0, Number(h[1]) - (counted ? 0 : 1)),
    );
    if (prev !== null)
      await this.redis.zadd(
        this.k('delayed'),
        atMs,
        `${this.entries.get(id)?.stream === this.k('s0') ? '0' : '1'}|${id}`,
      );
    await this.ack(id);
  }

  async kill(id: string, owner: string, error: string, nowMs: number): Promise<void> {
    if ((await this.redis.hget(this.k('item', id), 'owner')) !== owner) return;
    const prev = await this.transition(id, 'running', 'dead', nowMs, 'last_error', error);
    if (prev !== null) {
      const jobId = this.jobOf(id);
      const req = await this.getRequest(jobId);
      const m = this.redis.multi().zadd(this.k('dead'), 0, id);
      if (req !== undefined) {
        m.zadd(this.k('done'), nowMs, jobId);
        if (req.webhookUrl !== null) m.zadd(this.k('webhooks'), nowMs, jobId);
      }
      await m.exec();
    }
    await this.ack(id);
  }

  async deadLetters(limit: number, after: string | null): Promise<ItemView[]> {
    const ids = await this.redis.zrangebylex(
      this.k('dead'),
      after === null ? '-' : `(${after}`,
      '+',
      'LIMIT',
      0,
      limit,
    );
    return (await this.views(ids)).filter((v): v is ItemView => v !== undefined);
  }

  async requeue(id: string, nowMs: number): Promise<boolean> {
    const prev = await this.transition(id, 'dead', 'queued', nowMs, 'attempts', 0);
    if (prev === null) return false;
    const jobId = this.jobOf(id);
    const req = await this.getRequest(jobId);
    await this.redis
      .multi()
      .zrem(this.k('dead'), id)
      .zrem(this.k('done'), jobId)
      .zrem(this.k('webhooks'), jobId)
      .xadd(this.k(req === undefined ? 's1' : 's0'), '*', 'item', id)
      .exec();
    const b = await this.getBatch(jobId);
    if (b !== undefined && b.status !== 'in_progress')
      await this.setBatch(jobId, { status: 'in_progress', completedAt: null, finalizingAt: null });
    return true;
  }

  async purgeDead(id: string | null): Promise<number> {
    const ids =
      id === null
        ? await this.redis.zrange(this.k('dead'), '0', '-1')
        : (await this.redis.zscore(this.k('dead'), id)) === null
          ? []
          : [id];
    for (const i of ids) {
      const prev = await this.transition(i, 'dead', 'dead', Date.now());
      if (prev === null) continue;
      await this.redis
        .multi()
        .del(this.k('item', i))
        .zrem(this.k('dead'), i)
        .hincrby(this.k('counts', this.jobOf(i)), 'dead', -1)
        .hincrby(this.k('stats'), 'dead', -1)
        .decr(this.k('itemcount'))
        .exec();
    }
    return ids.length;
  }

  async stats(): Promise<JobCounts> {
    const h = await this.redis.hgetall(this.k('stats'));
    const byState = Object.fromEntries(ITEM_STATES.map((s) => [s, Number(h[s] ?? 0)])) as Record<ItemState, number>;
    // The oldest entry still on a stream (entries leave when their item ends): the oldest waiting or running item.
    let oldest: number | null = null;
    for (const s of ['s0', 's1']) {
      const head = (await this.redis.xrange(this.k(s), '-', '+', 'COUNT', 1))[0];
      const t = head === undefined ? NaN : Number(head[0].split('-')[0]);
      if (Number.isFinite(t)) oldest = oldest === null ? t : Math.min(oldest, t);
    }
    return { byState, oldestQueuedAt: oldest };
  }

  async webhooksDue(nowMs: number, limit: number): Promise<WebhookDue[]> {
    const ids = await this.redis.zrangebyscore(this.k('webhooks'), '-inf', nowMs, 'LIMIT', 0, limit);
    const out: WebhookDue[] = [];
    for (const id of ids) {
      const r = await this.getRequest(id);
      if (r?.webhookUrl === null || r === undefined) continue;
      out.push({
        requestId: id,
        url: r.webhookUrl,
        attempts: Number((await this.redis.hget(this.k('whatt'), id)) ?? 0),
      });
    }
    return out;
  }

  async webhookDone(requestId: string, delivered: boolean, nextAtMs: number | null): Promise<void> {
    const m = this.redis.multi().hincrby(this.k('whatt'), requestId, 1);
    if (delivered || nextAtMs === null) m.zrem(this.k('webhooks'), requestId);
    else m.zadd(this.k('webhooks'), nextAtMs, requestId);
    await m.exec();
  }

  async sweep(olderThanMs: number): Promise<string[]> {
    const paths: string[] = [];
    for (const jobId of await this.redis.zrangebyscore(this.k('done'), '-inf', olderThanMs)) {
      const total = Number((await this.redis.get(this.k('total', jobId))) ?? 0);
      const b = await this.getBatch(jobId);
      await this.eachItemId(jobId, async (ids) => {
        for (const v of await this.views(ids)) if (v?.result?.bodyPath) paths.push(v.result.bodyPath);
        const m = this.redis.multi();
        for (const i of ids) m.del(this.k('item', i), this.k('result', i)).zrem(this.k('dead'), i);
        await m.exec();
      });
      const counts = await this.redis.hgetall(this.k('counts', jobId));
      const m = this.redis
        .multi()
        .del(this.k('total', jobId), this.k('counts', jobId), this.k('batch', jobId), this.k('req', jobId))
        .zrem(this.k('done'), jobId)
        .decrby(this.k('itemcount'), total);
      for (const [st, n] of Object.entries(counts)) m.hincrby(this.k('stats'), st, -Number(n));
      if (b !== undefined) {
        m.zrem(this.k('batches', b.tenant), jobId);
        for (const f of [b.outputFileId, b.errorFileId, b.inputFileId]) {
          const rec = f === null ? undefined : await this.getFile(f);
          if (rec !== undefined) {
            paths.push(rec.path);
            m.del(this.k('file', rec.id)).zrem(this.k('files', rec.tenant), fileMember(rec));
          }
        }
      }
      await m.exec();
    }
    return paths;
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}

/** A file's member in its tenant's list: creation time first, so lexical order is time order. */
function fileMember(f: FileRecord): string {
  return `${String(f.createdAt).padStart(12, '0')}|${f.id}`;
}
