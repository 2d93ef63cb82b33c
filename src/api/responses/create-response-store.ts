import type { Config } from '../../config/types.ts';
import { SpillwayError } from '../../errors.ts';
import type { Logger } from '../../observe/log.ts';
import { MemoryResponseStore, type ResponseStore, type ResponseStoreLimits } from './response-store.ts';

/** The configured store of the Responses door (`responses.store`, `auto` resolved by the loader); only it is loaded. */
export async function createResponseStore(config: Config, log: Logger, now?: () => number): Promise<ResponseStore> {
  const r = config.responses;
  const limits: ResponseStoreLimits = {
    retentionMs: r.retentionMs,
    tenantMaxBytes: r.tenantMaxBytes,
    ...(now === undefined ? {} : { now }),
  };
  if (r.store === 'memory') return guardResponses(new MemoryResponseStore(limits), log);
  if (r.store === 'sqlite') {
    const { SqliteResponseStore } = await import('./sqlite-response-store.ts');
    return guardResponses(new SqliteResponseStore(config.jobs.dataDir, limits), log);
  }
  const redis = config.state.redis;
  if (redis === null) throw new Error('responses.store redis needs state.redis (the config loader checks this)');
  const { RedisResponseStore } = await import('./redis-response-store.ts');
  return guardResponses(await RedisResponseStore.connect(redis.url, redis.prefix, limits, log), log);
}

/**
 * The store as the door uses it: a lookup that fails (Redis unreachable, the file locked) is 503
 * `store_unavailable` with Retry-After, since the client's conversation cannot be found; a put that fails is
 * logged and the answer still goes out (only its later lookup will miss).
 */
function guardResponses(store: ResponseStore, log: Logger): ResponseStore {
  return {
    async get(id, tenant) {
      try {
        return await store.get(id, tenant);
      } catch (err) {
        log.warn({ err }, 'stored responses: lookup failed');
        throw new SpillwayError('store_unavailable', 'The store of responses could not be read; try again shortly.', {
          retryAfterS: 1,
          cause: err,
        });
      }
    },
    put(r, tenant) {
      return store.put(r, tenant).catch((err: unknown) => {
        log.warn({ err }, 'stored responses: a response could not be stored');
      });
    },
    close: () => store.close(),
  };
}
