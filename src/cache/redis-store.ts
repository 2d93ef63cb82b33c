import type { Redis } from 'ioredis';
import { redisClient } from '../state/load-redis.ts';
import type { CacheEntry, EntryKey, PurgeFilter } from './cache-entry.ts';
import { parseEntry } from './cache-entry.ts';
import { nearestOf, unitVector, type Nearest, type Partition, type VectorIndex } from './semantic-index.ts';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  /** A command slower than this fails; the request goes on without L2. */
  timeoutMs: number;
  /** A command failed (Redis away, slow or refusing). */
  onError: () => void;
  /** Another instance (or this one) purged entries: the memory level must drop them too. */
  onPurge: (f: PurgeFilter) => void;
}

/** SCAN batch size of a purge. */
const SCAN_COUNT = 500;

/**
 * L2: plain Redis strings with a relative expiry (SET … PX), shared by every instance. Redis only ever makes the
 * cache better: every failure reads as a miss or a skipped store, never as a failed request, and commands are not
 * queued while Redis is away (the offline queue is off).
 *
 * Keys (P = "spillway:cache:" + prefix):
 *   P base64url(namespace) ":" base64url(model) ":" request hash            string: one entry (JSON), PX = its stale end
 *   P "vec:" base64url(namespace) ":" base64url(model) ":" shape hash       hash: request hash → float32 vector (base64)
 * Names are base64url-encoded so a tenant or model name cannot contain the `*`, `?` or `:` a purge pattern relies on.
 */
export class RedisStore {
  private readonly redis: Redis;
  /** A second connection: one that subscribes can send no other command. */
  private readonly events: Redis;
  private readonly base: string;
  private readonly channel: string;
  private readonly onError: () => void;
  private readonly subscribed: Promise<void>;

  constructor(o: RedisStoreOptions) {
    this.base = `spillway:cache:${o.prefix}`;
    this.onError = o.onError;
    this.redis = new (redisClient())(o.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: o.timeoutMs,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
    // Errors surface on the commands; the client's own error events only repeat them.
    this.redis.on('error', () => undefined);
    this.redis.connect().catch(() => undefined);
    // A purge must reach every instance's memory level, not only Redis: it is announced on a channel.
    this.channel = `${this.base}purge`;
    this.events = this.redis.duplicate({ enableOfflineQueue: true });
    this.events.on('error', () => undefined);
    this.events.on('message', (_ch: string, text: string) => {
      try {
        const f = JSON.parse(text) as { model?: unknown; ns?: unknown };
        o.onPurge({
          model: typeof f.model === 'string' ? f.model : undefined,
          ns: typeof f.ns === 'string' ? f.ns : undefined,
        });
      } catch {
        // Not ours: ignore.
      }
    });
    this.subscribed = this.events.subscribe(this.channel).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Resolves once this instance hears purges announced by the others (or subscribing failed). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  async get(key: EntryKey): Promise<CacheEntry | undefined> {
    try {
      const v = await this.redis.get(this.key(key));
      return v === null ? undefined : parseEntry(v);
    } catch {
      this.onError();
      return undefined;
    }
  }

  async set(key: EntryKey, entry: CacheEntry, nowMs: number): Promise<void> {
    const px = Math.ceil(entry.staleUntil - nowMs);
    if (px <= 0) return;
    try {
      await this.redis.set(this.key(key), JSON.stringify(entry), 'PX', px);
    } catch {
      this.onError();
    }
  }

  /** Removes matching entries (and their semantic vectors); resolves with how many entries were removed. */
  async purge(f: PurgeFilter): Promise<number> {
    const names = `${f.ns === undefined ? '*' : enc(f.ns)}:${f.model === undefined ? '*' : enc(f.model)}:*`;
    const base = globEscape(this.base);
    try {
      // The vector pattern is matched by the entry pattern too when the namespace is '*'; the count excludes them.
      const n = await this.unlinkMatching(`${base}${names}`);
      await this.unlinkMatching(`${base}vec:${names}`);
      await this.redis.publish(this.channel, JSON.stringify(f));
      return n;
    } catch (err) {
      this.onError();
      throw err;
    }
  }

  /** Unlinks every key matching; resolves with how many were answer entries (not vector partitions). */
  private async unlinkMatching(pattern: string): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length === 0) continue;
      await this.redis.unlink(...keys);
      n += keys.filter((k) => !k.startsWith(`${this.base}vec:`)).length;
    } while (cursor !== '0');
    return n;
  }

  /** The semantic cache's vectors in Redis, on this connection, `maxEntries` at most per partition. */
  vectors(maxEntries: number): VectorIndex {
    return new RedisVectors(this.redis, `${this.base}vec:`, maxEntries, this.onError);
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.redis, this.events].map(async (r) => {
        if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
        else r.disconnect();
      }),
    );
  }

  private key(k: EntryKey): string {
    return `${this.base}${enc(k.ns)}:${enc(k.model)}:${k.hash}`;
  }
}

/** The configured prefix is free text: its glob characters must match themselves in a SCAN pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function enc(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

/**
 * Prompt vectors kept in Redis so every instance finds every stored prompt: one hash per partition, scanned on the
 * client. Redis vector search (RediSearch's FT.SEARCH) would scan on the server, but Debian's redis-server does not
 * ship the module, so the scan is here; its cost is one HGETALL of the partition per semantic lookup, which is why
 * `semantic.max_entries` also bounds each partition here. Failures read as "no similar prompt".
 */
class RedisVectors implements VectorIndex {
  private readonly redis: Redis;
  private readonly base: string;
  private readonly max: number;
  private readonly onError: () => void;

  constructor(redis: Redis, base: string, max: number, onError: () => void) {
    this.redis = redis;
    this.base = base;
    this.max = max;
    this.onError = onError;
  }

  async nearest(p: Partition, vector: readonly number[], threshold: number): Promise<Nearest | undefined> {
    const q = unitVector(vector);
    if (q === undefined) return undefined;
    let stored: Record<string, string>;
    try {
      stored = await this.redis.hgetall(this.key(p));
    } catch {
      this.onError();
      return undefined;
    }
    const vectors = Object.entries(stored).map(([hash, b64]): [string, Float32Array] => {
      const buf = Buffer.from(b64, 'base64');
      return [hash, new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4))];
    });
    return nearestOf(vectors, q, threshold);
  }

  async add(p: Partition, hash: string, vector: readonly number[], ttlMs: number): Promise<void> {
    const v = unitVector(vector);
    if (v === undefined || ttlMs <= 0) return;
    const key = this.key(p);
    try {
      const [[, size]] = (await this.redis
        .multi()
        .hset(key, hash, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'))
        .pexpire(key, Math.ceil(ttlMs))
        .exec()) as [[unknown, number]];
      // Over the bound: forget one at random (a hash keeps no order; the partition renews itself as answers expire).
      if (size > 0 && (await this.redis.hlen(key)) > this.max) {
        const drop = await this.redis.hrandfield(key);
        if (typeof drop === 'string' && drop !== hash) await this.redis.hdel(key, drop);
      }
    } catch {
      this.onError();
    }
  }

  async delete(p: Partition, hash: string): Promise<void> {
    try {
      await this.redis.hdel(this.key(p), hash);
    } catch {
      this.onError();
    }
  }

  private key(p: Partition): string {
    return `${this.base}${enc(p.ns)}:${enc(p.model)}:${p.shape}`;
  }
}
