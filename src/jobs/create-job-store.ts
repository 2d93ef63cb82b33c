import type { Config } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { JobStore } from './job-store.ts';
import { SqliteJobStore } from './sqlite-store.ts';

/** The configured job store: SQLite under jobs.data_dir, or Redis (state.redis) shared by every instance. */
export async function createJobStore(config: Config, log: Logger): Promise<JobStore> {
  if (config.jobs.store === 'redis') {
    log.error('jobs.store redis is not available in this build');
    throw new Error('jobs.store redis is not available in this build');
  }
  return new SqliteJobStore(config.jobs.dataDir);
}
