import type { Clock } from '../clock.ts';
import { SpillwayError } from '../errors.ts';
import type { CacheConfig } from '../config/types.ts';
import type { CacheEntry, EntryKey, PurgeFilter } from './cache-entry.ts';
import { MemoryStore, type MemoryStoreEvents } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import { freshness, lifetime, type Freshness } from './ttl.ts';
import type { VectorIndex } from './semantic-index.ts';

/**
 * Entry times are wall-clock epoch ms (Date.now), not the gateway's monotonic clock: entries in Redis are read by
 * other instances, and only wall-clock time means the same thing on two machines.
 */
const wallClock: Clock = { now: () => Date.now() };

export interface Found {
  entry: CacheEntry;
  freshness: Exclude<Freshness, 'gone'>;
  level: 'l1' | 'l2';
}

export interface AnswerStoreEvents extends MemoryStoreEvents {
  l2Error(): void;
}

/**
 * The two cache levels behind one interface: L1 in memory, then L2 in Redis when configured; an L2 hit is copied
 * into L1. Both levels keep an entry until the end of its stale window; whether it is fresh or stale is decided at
 * lookup from its own times.
 */
export class AnswerStore {
  private readonly l1: MemoryStore;
  private readonly l2: RedisStore | undefined;
  private readonly config: CacheConfig;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(config: CacheConfig, events: AnswerStoreEvents, opts: { clock?: Clock; random?: () => number } = {}) {
    this.config = config;
    this.clock = opts.clock ?? wallClock;
    this.random = opts.random ?? Math.random;
    this.l1 = new MemoryStore(config.memoryMaxBytes, events);
    const r = config.redis;
    this.l2 =
      r === null
        ? undefined
        : new RedisStore({
            url: r.url,
            prefix: r.prefix,
            timeoutMs: r.timeoutMs,
            onError: () => events.l2Error(),
            onPurge: (f) => this.l1.purge(f),
          });
  }

  async lookup(key: EntryKey): Promise<Found | undefined> {
    const now = this.clock.now();
    const local = this.l1.get(key);
    if (local !== undefined) {
      const f = freshness(local, now);
      if (f !== 'gone') return { entry: local, freshness: f, level: 'l1' };
      this.l1.delete(key);
    }
    if (this.l2 === undefined) return undefined;
    const remote = await this.l2.get(key);
    if (remote === undefined) return undefined;
    const f = freshness(remote, now);
    if (f === 'gone') return undefined;
    this.l1.set(key, remote);
    return { entry: remote, freshness: f, level: 'l2' };
  }

  /** Stores a complete answer (JSON text); resolves with how long it stays servable (ms), 0 when too large to keep. */
  async store(key: EntryKey, body: string, usage: boolean): Promise<number> {
    if (Buffer.byteLength(body) > this.config.maxEntryBytes) return 0;
    const now = this.clock.now();
    const c = this.config;
    const entry: CacheEntry = { body, usage, ...lifetime(now, c.ttlMs, c.ttlJitterPercent, c.staleForMs, this.random) };
    this.l1.set(key, entry);
    await this.l2?.set(key, entry, now);
    return entry.staleUntil - now;
  }

  /** Removes matching entries from both levels; resolves with how many were removed from each. */
  async purge(f: PurgeFilter): Promise<{ memory: number; redis: number }> {
    const memory = this.l1.purge(f);
    if (this.l2 === undefined) return { memory, redis: 0 };
    try {
      return { memory, redis: await this.l2.purge(f) };
    } catch (err) {
      throw new SpillwayError(
        'cache_unavailable',
        `Purged ${memory} answers from memory, but the Redis cache level could not be reached; retry the purge.`,
        { cause: err, retryAfterS: 1 },
      );
    }
  }

  /** The semantic vectors in Redis, when there is a Redis level. */
  vectors(maxEntries: number): VectorIndex | undefined {
    return this.l2?.vectors(maxEntries);
  }

  /** Resolves when the Redis level (if any) is connected and hears purges from other instances. */
  async ready(): Promise<void> {
    await this.l2?.ready();
  }

  get bytes(): number {
    return this.l1.bytes;
  }

  async close(): Promise<void> {
    await this.l2?.close();
  }
}
