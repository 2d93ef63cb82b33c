import { SpillwayError } from '../../errors.ts';
import type { Logger } from '../../observe/log.ts';
import type { JobStore } from './job-store.ts';

/** How long a client is told to wait after a job-store outage (a restart, a failover, a lock held too long). */
const RETRY_AFTER_S = 5;

/** SQLite primary result codes (the low byte of node:sqlite's `errcode`) that mean "not now", not "never". */
const SQLITE_UNAVAILABLE = new Set([
  5 /* BUSY */, 6 /* LOCKED */, 8 /* READONLY */, 10 /* IOERR */, 11 /* CORRUPT */, 14 /* CANTOPEN */, 26 /* NOTADB */,
]);
const SQLITE_FULL = 13;
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Redis replies that mean the server cannot take writes now (loading, failing over, out of memory). */
const REDIS_UNAVAILABLE = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS)\b/;

/**
 * What a job-store failure is, as the client should hear it: a full disk is 507 `disk_full` (nothing was stored;
 * retrying will not help until space is freed), an unreachable or locked store is 503 `store_unavailable` with
 * `Retry-After` (retrying will). Anything else is returned as it is: a bug, which becomes a logged 500.
 */
export function storeError(err: unknown): unknown {
  if (err instanceof SpillwayError || !(err instanceof Error)) return err;
  const e = err as Error & { code?: string; errcode?: number; errstr?: string };
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') {
    const primary = e.errcode & 0xff;
    if (primary === SQLITE_FULL) return diskFull(e);
    if (SQLITE_UNAVAILABLE.has(primary)) return unavailable(`SQLite: ${e.errstr ?? e.message}`, e);
    return err;
  }
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return diskFull(e);
  // The data directory cannot be written (read-only, permissions, a path that is not a directory): an operator
  // has to act, and until then nothing is accepted; said as an outage so clients retry.
  if (e.code === 'EIO' || e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'ENOTDIR')
    return unavailable(`${e.code} under jobs.data_dir`, e);
  if (
    e.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable/.test(e.message) ||
    (e.code !== undefined && NET_CODES.has(e.code))
  ) {
    return unavailable('Redis is unreachable', e);
  }
  if (e.name === 'ReplyError' && REDIS_UNAVAILABLE.test(e.message))
    return unavailable(`Redis: ${e.message.split(' ')[0] ?? ''}`, e);
  return err;
}

function diskFull(cause: Error): SpillwayError {
  return new SpillwayError(
    'disk_full',
    'The disk under jobs.data_dir is full: nothing was stored. Retry once space is freed.',
    { cause },
  );
}

function unavailable(why: string, cause: Error): SpillwayError {
  return new SpillwayError(
    'store_unavailable',
    `The job store is unavailable (${why}); nothing was changed, retry later.`,
    { retryAfterS: RETRY_AFTER_S, cause },
  );
}

/**
 * The store with its failures classified (storeError), for both implementations at once: every method's rejection
 * (or throw) passes through it, and each outage is logged once where it happens, with its cause.
 */
export function guardStore(store: JobStore, log: Logger): JobStore {
  const rethrow = (method: string, err: unknown): never => {
    const mapped = storeError(err);
    if (mapped instanceof SpillwayError && mapped !== err)
      log.warn({ err, method, code: mapped.code }, 'job store failure');
    throw mapped;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      const method = String(prop);
      return (...args: unknown[]): unknown => {
        try {
          const r: unknown = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r instanceof Promise ? r.catch((err: unknown) => rethrow(method, err)) : r;
        } catch (err) {
          return rethrow(method, err);
        }
      };
    },
  });
}
