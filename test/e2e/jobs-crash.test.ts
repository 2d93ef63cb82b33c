import { test } from 'node:test';
import { crashDrill } from '../helpers/crash-run.ts';
import { tempDataDir } from '../helpers/jobs.ts';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';

test('kill -9 mid-batch (SQLite): after a restart every one of 2,000 items completes, none twice in the output, none generated more than twice', async (t) => {
  await crashDrill(t, tempDataDir(t), 2000, { store: 'sqlite' });
});

test(
  "kill -9 mid-batch (Redis): a new instance takes over the dead one's items; every one of 2,000 completes once, none generated more than twice",
  { skip: redisSkipReason() },
  async (t) => {
    const redis = await startRedisServer(t);
    await crashDrill(
      t,
      tempDataDir(t),
      2000,
      { store: 'redis' },
      { state: { redis: { url: redis.url, prefix: 'crash:' } } },
    );
  },
);
