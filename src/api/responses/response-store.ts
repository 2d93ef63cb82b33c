import { LRUCache } from 'lru-cache';

/** A response kept for `GET /v1/responses/{id}` and `previous_response_id`. */
export interface StoredResponse {
  /** The Responses API object as it was answered. */
  response: Record<string, unknown>;
  /** The whole conversation as chat messages, the answer included (what a next turn continues). */
  messages: Record<string, unknown>[];
  /** The instructions of that turn: not carried into the next one (as OpenAI does), kept to answer GET. */
  instructions: unknown;
}

/**
 * Where the Responses door keeps the responses it answered with `store` (OpenAI's default), by tenant and id: a key
 * never reads another tenant's conversation. Every implementation keeps an entry for the retention and holds at most
 * `tenantMaxBytes` per tenant (an entry's size is its JSON), pushing out that tenant's oldest first: nothing a
 * client sends grows without bound, and the tenants are the config's. Run against one contract suite
 * (test/contract/response-store.contract.ts): memory (this process), SQLite (a file, survives a restart) and Redis
 * (shared by every instance).
 */
export interface ResponseStore {
  get(id: string, tenant: string | undefined): Promise<StoredResponse | undefined>;
  /** Keeps `r` under its response's id. An entry larger than the tenant's whole allowance is not kept. */
  put(r: StoredResponse, tenant: string | undefined): Promise<void>;
  close(): Promise<void>;
}

export interface ResponseStoreLimits {
  retentionMs: number;
  tenantMaxBytes: number;
  /** Wall-clock time (epoch ms; tests pass a fake clock to expire entries). */
  now?: () => number;
}

/** An entry's size as the stores count it: its JSON's length. */
export function entrySize(json: string, id: string): number {
  return json.length + id.length;
}

/** The `store: memory` one: least recently used out first, per tenant; lost on restart. */
export class MemoryResponseStore implements ResponseStore {
  private readonly tenants = new Map<string, LRUCache<string, { r: StoredResponse; at: number }>>();
  private readonly limits: ResponseStoreLimits;
  private readonly now: () => number;

  constructor(limits: ResponseStoreLimits) {
    this.limits = limits;
    this.now = limits.now ?? Date.now;
  }

  get(id: string, tenant: string | undefined): Promise<StoredResponse | undefined> {
    const lru = this.tenants.get(tenant ?? '');
    const e = lru?.get(id);
    if (e === undefined) return Promise.resolve(undefined);
    // The retention on this store's clock (the LRU's own TTL would read the real one).
    if (this.now() - e.at >= this.limits.retentionMs) {
      lru?.delete(id);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(e.r);
  }

  put(r: StoredResponse, tenant: string | undefined): Promise<void> {
    const id = r.response.id;
    if (typeof id !== 'string') return Promise.resolve();
    let lru = this.tenants.get(tenant ?? '');
    if (lru === undefined) {
      lru = new LRUCache<string, { r: StoredResponse; at: number }>({
        maxSize: this.limits.tenantMaxBytes,
        sizeCalculation: (v, k) => Math.max(1, entrySize(JSON.stringify(v.r), k)),
      });
      this.tenants.set(tenant ?? '', lru);
    }
    if (entrySize(JSON.stringify(r), id) > this.limits.tenantMaxBytes) return Promise.resolve();
    lru.set(id, { r, at: this.now() });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.tenants.clear();
    return Promise.resolve();
  }
}
