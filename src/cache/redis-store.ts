import { Redis } from 'ioredis';
import type { CacheEntry, EntryKey, PurgeFilter } from './cache-entry.ts';
import { parseEntry } from './cache-entry.ts';

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
 * Keys: "spillway:cache:" + prefix + base64url(namespace) + ":" + base64url(model) + ":" + request hash. The names
 * are base64url-encoded so a tenant or model name cannot contain the `*`, `?` or `:` a purge pattern relies on.
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
    this.redis = new Redis(o.url, {
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
        o.onPurge({ model: typeof f.model === 'string' ? f.model : undefined, ns: typeof f.ns === 'string' ? f.ns : undefined });
      } catch {
        // Not ours: ignore.
      }
    });
    this.subscribed = this.events.subscribe(this.channel).then(() => undefined, () => undefined);
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

  async purge(f: PurgeFilter): Promise<number> {
    const pattern = `${globEscape(this.base)}${f.ns === undefined ? '*' : enc(f.ns)}:${f.model === undefined ? '*' : enc(f.model)}:*`;
    let n = 0;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) n += await this.redis.unlink(...keys);
      } while (cursor !== '0');
      await this.redis.publish(this.channel, JSON.stringify(f));
    } catch (err) {
      this.onError();
      throw err;
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([this.redis, this.events].map(async (r) => {
      if (r.status === 'ready') await r.quit().catch(() => r.disconnect());
      else r.disconnect();
    }));
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
