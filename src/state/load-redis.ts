import { createRequire } from 'node:module';
import type * as ioredis from 'ioredis';

/**
 * The ioredis client class, loaded on first use: only a gateway configured with Redis (shared state, the answer
 * cache's L2, the jobs store) needs it, and loading it costs every other gateway ~50 ms of startup and ~20 MB of
 * idle memory. ioredis is CommonJS, so it loads synchronously where the constructors need it.
 */
export function redisClient(): typeof ioredis.Redis {
  return (createRequire(import.meta.url)('ioredis') as typeof ioredis).Redis;
}
