import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { RedisJobStore } from '../../src/jobs/store/redis-store.ts';
import { createLogger } from '../../src/observe/log.ts';
import { launchRedisServer, redisSkipReason, type RedisServer } from '../helpers/redis-server.ts';
import { jobStoreContract } from './job-store.contract.ts';

// One redis-server for the file; each test gets its own key prefix.
const skip = redisSkipReason();
let server: RedisServer | undefined;
before(async () => {
  if (skip === undefined) server = await launchRedisServer();
});
after(() => server?.stop());

jobStoreContract(
  'RedisJobStore',
  async () => {
    if (!server) throw new Error('redis-server did not start');
    return RedisJobStore.connect(server.url, `contract-${randomUUID()}:`, createLogger('silent'));
  },
  { skip },
);
