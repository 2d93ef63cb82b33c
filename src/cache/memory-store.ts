import { LRUCache } from 'lru-cache';
import type { CacheEntry, EntryKey, PurgeFilter } from './cache-entry.ts';
import { matchesPurge } from './cache-entry.ts';

/** What an entry costs besides its body: the key, the times and lru-cache's own bookkeeping (an estimate). */
const ENTRY_OVERHEAD_BYTES = 200;

export interface MemoryStoreEvents {
  /** An entry was pushed out to make room (not expired, not purged). */
  evicted(): void;
  /** The bytes held changed. */
  bytes(n: number): void;
}

interface Held {
  key: EntryKey;
  entry: CacheEntry;
}

/**
 * L1: this instance's memory, bounded in bytes (least recently used out first), by lru-cache. Expiry is decided by
 * the caller from the entry's own times rather than lru-cache's TTL, because the same times travel through Redis.
 */
export class MemoryStore {
  private readonly lru: LRUCache<string, Held>;
  private readonly events: MemoryStoreEvents;

  constructor(maxBytes: number, events: MemoryStoreEvents) {
    this.events = events;
    this.lru = new LRUCache<string, Held>({
      maxSize: maxBytes,
      sizeCalculation: (h, k) => Buffer.byteLength(h.entry.body) + k.length + ENTRY_OVERHEAD_BYTES,
      dispose: (_h, _k, reason) => {
        if (reason === 'evict') events.evicted();
      },
    });
  }

  get(key: EntryKey): CacheEntry | undefined {
    return this.lru.get(id(key))?.entry;
  }

  set(key: EntryKey, entry: CacheEntry): void {
    this.lru.set(id(key), { key, entry });
    this.events.bytes(this.lru.calculatedSize);
  }

  delete(key: EntryKey): void {
    this.lru.delete(id(key));
    this.events.bytes(this.lru.calculatedSize);
  }

  purge(f: PurgeFilter): number {
    let n = 0;
    for (const [k, h] of this.lru.entries()) {
      if (!matchesPurge(h.key, f)) continue;
      this.lru.delete(k);
      n++;
    }
    this.events.bytes(this.lru.calculatedSize);
    return n;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}

function id(k: EntryKey): string {
  return `${k.ns}\u0000${k.model}\u0000${k.hash}`;
}
