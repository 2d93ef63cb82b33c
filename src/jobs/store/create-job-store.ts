import type { Config } from '../../config/types.ts';
import type { Logger } from '../../observe/log.ts';
import type { JobStore } from './job-store.ts';
import { guardStore } from './guard-store.ts';

/**
 * The configured job store: SQLite under jobs.data_dir, or Redis (state.redis) shared by every instance, its
 * failures classified (a full disk: 507 disk_full; an outage: 503 store_unavailable with Retry-After). Only the
 * configured one is loaded.
 */
export async function createJobStore(config: Config, log: Logger): Promise<JobStore> {
  if (config.jobs.store === 'redis') {
    const r = config.state.redis;
    if (r === null) throw new Error('jobs.store redis needs state.redis (the config loader checks this)');
    const { RedisJobStore } = await import('./redis-store.ts');
    return guardStore(await RedisJobStore.connect(r.url, r.prefix, log), log);
  }
  const { SqliteJobStore } = await import('./sqlite-store.ts');
  return guardStore(new SqliteJobStore(config.jobs.dataDir), log);
}
