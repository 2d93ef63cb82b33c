import type { Redis } from 'ioredis';
import { redisClient } from '../../state/load-redis.ts';
import type { Logger } from '../../observe/log.ts';
import { entrySize, type ResponseStore, type ResponseStoreLimits, type StoredResponse } from './response-store.ts';

/**
 * One put, atomic: the tenant's expired entries leave its index (their data keys expired by themselves), the entry
 * is written with the retention as its TTL, then the tenant's oldest go while it holds more than its allowance.
 * KEYS: 1 the tenant's index (sorted set: id by time), 2 its sizes (hash: id → bytes), 3 the entry's data key,
 * 4 its byte count. ARGV: id, data, bytes, now, retention (ms), allowance, the tenant's data-key prefix. Entries'
 * data keys are built from that prefix; all keys share one hash tag, so they are in one slot.
 */
const PUT_LUA = `
local id, data, bytes, now, ret, max, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local function drop(o)
  local b = tonumber(redis.call('HGET', KEYS[2], o) or '0')
  redis.call('ZREM', KEYS[1], o)
  redis.call('HDEL', KEYS[2], o)
  redis.call('DEL', prefix .. o)
  redis.call('DECRBY', KEYS[4], b)
end
for _, o in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ret, 'LIMIT', 0, 100)) do drop(o) end
if redis.call('HEXISTS', KEYS[2], id) == 1 then drop(id) end
redis.call('SET', KEYS[3], data, 'PX', ret)
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, bytes)
local held = redis.call('INCRBY', KEYS[4], bytes)
while held > max do
  local o = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if o == nil or o == id then break end
  drop(o)
  held = tonumber(redis.call('GET', KEYS[4]))
end
for k = 1, 4 do if k ~= 3 then redis.call('PEXPIRE', KEYS[k], ret) end end
return held`;

interface Scripts {
  responsesPut(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Promise<number>;
}

/**
 * Stored responses in Redis (`state.redis`), shared by every instance: a `previous_response_id` answered by one
 * instance is found by the next. Keys (P = "spillway:" + prefix + "{responses}:", T = the tenant, URI-encoded):
 * `P d:T:<id>` the entry as "<stored at, epoch ms>\n<JSON>" (TTL: the retention), `P i:T` the tenant's ids by time, `P s:T` their sizes, `P b:T` their
 * total. A put is one script (PUT_LUA); a get is one GET.
 */
export class RedisResponseStore implements ResponseStore {
  private readonly redis: Redis & Scripts;
  private readonly p: string;
  private readonly limits: ResponseStoreLimits;
  private readonly now: () => number;

  private constructor(redis: Redis, prefix: string, limits: ResponseStoreLimits) {
    this.redis = redis as Redis & Scripts;
    this.p = `spillway:${prefix}{responses}:`;
    this.limits = limits;
    this.now = limits.now ?? Date.now;
  }

  static async connect(
    url: string,
    prefix: string,
    limits: ResponseStoreLimits,
    log: Logger,
  ): Promise<RedisResponseStore> {
    const redis = new (redisClient())(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 2000 });
    redis.on('error', (err: unknown) => log.warn({ err }, 'stored responses: redis error'));
    redis.defineCommand('responsesPut', { numberOfKeys: 4, lua: PUT_LUA });
    await redis.connect();
    return new RedisResponseStore(redis, prefix, limits);
  }

  private tenantKey(kind: string, tenant: string | undefined): string {
    return `${this.p}${kind}:${encodeURIComponent(tenant ?? '')}`;
  }

  async get(id: string, tenant: string | undefined): Promise<StoredResponse | undefined> {
    const data = await this.redis.get(`${this.tenantKey('d', tenant)}:${id}`);
    if (data === null) return undefined;
    // "<stored at>\n<json>": the TTL is Redis's clock, the retention is also checked on ours.
    const nl = data.indexOf('\n');
    if (this.now() - Number(data.slice(0, nl)) >= this.limits.retentionMs) return undefined;
    return JSON.parse(data.slice(nl + 1)) as StoredResponse;
  }

  async put(r: StoredResponse, tenant: string | undefined): Promise<void> {
    const id = r.response.id;
    if (typeof id !== 'string') return;
    const data = JSON.stringify(r);
    const bytes = entrySize(data, id);
    if (bytes > this.limits.tenantMaxBytes) return;
    const prefix = `${this.tenantKey('d', tenant)}:`;
    const now = this.now();
    await this.redis.responsesPut(
      this.tenantKey('i', tenant),
      this.tenantKey('s', tenant),
      prefix + id,
      this.tenantKey('b', tenant),
      id,
      `${now}\n${data}`,
      bytes,
      now,
      this.limits.retentionMs,
      this.limits.tenantMaxBytes,
      prefix,
    );
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
