import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { RedisResponseStore } from '../../src/api/responses/redis-response-store.ts';
import { createLogger } from '../../src/observe/log.ts';
import { launchRedisServer, redisSkipReason, type RedisServer } from '../helpers/redis-server.ts';
import { responseStoreContract } from './response-store.contract.ts';

// One redis-server for the file; each test gets its own key prefix.
const skip = redisSkipReason();
let server: RedisServer | undefined;
before(async () => {
  if (skip === undefined) server = await launchRedisServer();
});
after(() => server?.stop());

responseStoreContract(
  'RedisResponseStore',
  (limits) => {
    if (!server) throw new Error('redis-server did not start');
    return RedisResponseStore.connect(server.url, `contract-${randomUUID()}:`, limits, createLogger('silent'));
  },
  { skip },
);

test('RedisResponseStore: another connection (another instance) finds what one stored', { skip }, async () => {
  if (!server) throw new Error('redis-server did not start');
  const prefix = `shared-${randomUUID()}:`;
  const limits = { retentionMs: 60_000, tenantMaxBytes: 1024 * 1024 };
  const a = await RedisResponseStore.connect(server.url, prefix, limits, createLogger('silent'));
  const b = await RedisResponseStore.connect(server.url, prefix, limits, createLogger('silent'));
  const r = {
    response: { id: 'resp_shared', object: 'response' },
    messages: [{ role: 'user', content: 'q' }],
    instructions: null,
  };
  await a.put(r, 'acme');
  assert.deepEqual(await b.get('resp_shared', 'acme'), r);
  await a.close();
  await b.close();
});
