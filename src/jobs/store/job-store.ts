import type { Call } from '../../server/context.ts';

/**
 * Durable job state behind one interface, so the embedded default (SQLite, one instance) and the shared one (Redis,
 * many instances) are interchangeable and pass the same contract suite (test/contract/job-store*.test.ts).
 *
 * Item lifecycle (an async request is a job with one item; a batch is a job with one item per input line):
 *
 *   queued ──lease──▶ running ──complete(2xx)──▶ done        (result recorded once: a second completion is ignored)
 *     ▲                 │  │  └─complete(4xx)──▶ failed
 *     │                 │  └──retryLater──────▶ queued (not before a backoff)
 *     │                 ├──kill──────────────▶ dead ──requeue──▶ queued
 *     └──lease expired──┘  (the instance died: another one, or this one restarted, takes it again)
 *   queued ──cancel/expire──▶ cancelled | expired
 *
 * Times are wall-clock Unix milliseconds (they outlive a process and are compared between instances).
 */
export type ItemState = 'queued' | 'running' | 'done' | 'failed' | 'dead' | 'cancelled' | 'expired';
export const ITEM_STATES: readonly ItemState[] = [
  'queued',
  'running',
  'done',
  'failed',
  'dead',
  'cancelled',
  'expired',
];

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface FileRecord {
  id: string;
  tenant: string;
  purpose: string;
  filename: string;
  bytes: number;
  /** Unix seconds. */
  createdAt: number;
  /** Where the bytes are, on this instance's disk (data_dir/files). */
  path: string;
}

export interface BatchRecord {
  id: string;
  tenant: string;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  outputFileId: string | null;
  errorFileId: string | null;
  metadata: Record<string, string> | null;
  /** Unix seconds of each status change, as OpenAI's batch object reports them (null until reached). */
  createdAt: number;
  inProgressAt: number | null;
  expiresAt: number;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
}

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/** An async single request (`Prefer: respond-async`). */
export interface RequestRecord {
  id: string;
  tenant: string;
  endpoint: Call['endpoint'];
  model: string;
  createdAt: number;
  idempotencyKey: string | null;
  /** SHA-256 of the body: a reused Idempotency-Key with another body is refused. */
  bodyHash: string;
  webhookUrl: string | null;
}

export interface NewItem {
  seq: number;
  customId: string;
  endpoint: Call['endpoint'];
  body: string;
  prefixKey: string;
}

/** An item handed to a runner by `lease`. */
export interface LeasedItem {
  id: string;
  jobId: string;
  customId: string;
  tenant: string;
  /** SHA-256 of the gateway key that submitted it (null without gateway keys): the item runs as that key. */
  keySha: string | null;
  endpoint: Call['endpoint'];
  body: string;
  /** Runs so far, this one included. */
  attempts: number;
}

export interface ItemResult {
  status: number;
  /** The gateway's answer body (JSON text) when stored inline... */
  body: string | null;
  /** ...or the file it was written to (large answers). */
  bodyPath: string | null;
  requestId: string;
}

export interface ItemView {
  id: string;
  jobId: string;
  customId: string;
  tenant: string;
  state: ItemState;
  attempts: number;
  lastError: string | null;
  enqueuedAt: number;
  updatedAt: number;
  result: ItemResult | null;
}

export interface JobCounts {
  byState: Record<ItemState, number>;
  /** Enqueue time of the oldest queued item (Unix ms), or null. */
  oldestQueuedAt: number | null;
}

export interface WebhookDue {
  requestId: string;
  url: string;
  attempts: number;
}

export interface JobStore {
  addFile(f: FileRecord): Promise<void>;
  getFile(id: string): Promise<FileRecord | undefined>;
  /** A tenant's files, newest first; `after` is the id of the last file of the previous page. */
  listFiles(tenant: string, after: string | null, limit: number): Promise<FileRecord[]>;
  /** Forgets a file; returns it (so its bytes can be deleted), or undefined when there was none. */
  deleteFile(id: string): Promise<FileRecord | undefined>;

  /** Writes the batch and all its items at once (all or nothing). Throws job_storage_full past `maxItems`. */
  createBatch(b: BatchRecord, keySha: string | null, items: readonly NewItem[], maxItems: number): Promise<void>;
  getBatch(id: string): Promise<BatchRecord | undefined>;
  listBatches(tenant: string, after: string | null, limit: number): Promise<BatchRecord[]>;
  counts(jobId: string): Promise<RequestCounts & { open: number }>;
  /** Open items become cancelled; the batch is `cancelling` until running ones finish. */
  cancelBatch(id: string, nowMs: number): Promise<BatchRecord | undefined>;
  /** Batches with no open item left (or past their window), not yet finalized. */
  toFinalize(nowMs: number): Promise<BatchRecord[]>;
  /** Queued items of a batch past its completion window become expired. */
  expireItems(jobId: string, nowMs: number): Promise<void>;
  setBatch(id: string, patch: Partial<BatchRecord>): Promise<void>;
  /** Every item of a job with its result, in input order (streamed: never the whole job in memory). */
  items(jobId: string): AsyncIterable<ItemView>;

  /** Creates an async request, or returns the one created earlier with the same idempotency key (created false). */
  createRequest(
    r: RequestRecord,
    keySha: string | null,
    item: NewItem,
    maxItems: number,
  ): Promise<{ record: RequestRecord; created: boolean }>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  item(id: string): Promise<ItemView | undefined>;

  /**
   * Up to `n` runnable items, leased to `owner` until `leaseUntil`: first any whose lease expired (their instance
   * died), then queued ones whose backoff has passed; async requests before batch items, batches first come
   * first served, inside a batch grouped by prompt prefix. Tenants in `skipTenants` are at their job concurrency.
   * Every owner leases for the same duration (jobs.lease, shared by instances with one config): the Redis store
   * takes an item over once its stream entry has been idle that long.
   */
  lease(
    owner: string,
    n: number,
    nowMs: number,
    leaseUntil: number,
    skipTenants: readonly string[],
  ): Promise<LeasedItem[]>;
  /** Extends the leases of items this owner is still running (a heartbeat). */
  renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<void>;
  /**
   * Records an item's final answer (done for 2xx, failed otherwise). Exactly once: returns false, changing nothing,
   * when a result was already recorded (another instance that took over an expired lease finished first).
   */
  complete(id: string, result: ItemResult, nowMs: number): Promise<boolean>;
  /** Back to queued, not before `atMs`; `counted` false gives the attempt back (pushback: no work was done). */
  retryLater(id: string, owner: string, error: string, atMs: number, counted: boolean, nowMs: number): Promise<void>;
  /** To the dead-letter list with its last error. */
  kill(id: string, owner: string, error: string, nowMs: number): Promise<void>;

  deadLetters(limit: number, after: string | null): Promise<ItemView[]>;
  /** A dead item back to queued with its attempts reset; false when it is not dead. */
  requeue(id: string, nowMs: number): Promise<boolean>;
  /** Deletes dead items (one, or all when id is null); returns how many. */
  purgeDead(id: string | null): Promise<number>;

  stats(): Promise<JobCounts>;

  /** Async requests whose webhook is due. */
  webhooksDue(nowMs: number, limit: number): Promise<WebhookDue[]>;
  webhookDone(requestId: string, delivered: boolean, nextAtMs: number | null): Promise<void>;

  /** Deletes finished jobs, their items, results and files older than the retention; returns the file paths to delete. */
  sweep(olderThanMs: number): Promise<string[]>;
  close(): Promise<void>;
}
