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

/** How long a stored response is kept, and the most the store holds (documented in docs/doors.md). */
const RESPONSE_RETENTION_MS = 60 * 60 * 1000;
const RESPONSE_STORE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Responses created with `store` (OpenAI's default) in memory, least recently used out first, for an hour at most
 * and 64 MiB in all: a client cannot make it grow without bound (every entry is counted by its JSON size). Keyed by
 * tenant as well as id, so a key never reads another tenant's conversation. Process-local: with several instances,
 * a `previous_response_id` must come back to the instance that answered (or the client sends the history itself).
 */
export class ResponseStore {
  private readonly lru: LRUCache<string, StoredResponse>;

  constructor(maxBytes = RESPONSE_STORE_MAX_BYTES, ttlMs = RESPONSE_RETENTION_MS) {
    this.lru = new LRUCache<string, StoredResponse>({
      maxSize: maxBytes,
      ttl: ttlMs,
      sizeCalculation: (r, k) => JSON.stringify(r.response).length + JSON.stringify(r.messages).length + k.length,
    });
  }

  get(id: string, tenant: string | undefined): StoredResponse | undefined {
    return this.lru.get(key(id, tenant));
  }

  put(r: StoredResponse, tenant: string | undefined): void {
    const id = r.response.id;
    if (typeof id === 'string') this.lru.set(key(id, tenant), r);
  }
}

function key(id: string, tenant: string | undefined): string {
  return `${tenant ?? ''}\u0000${id}`;
}
