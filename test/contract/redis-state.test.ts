import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryState } from '../../src/state/memory-state.ts';
import { RedisState } from '../../src/state/redis-state.ts';
import type { SharedState } from '../../src/state/shared-state.ts';
import { launchRedisServer, redisSkipReason, type RedisServer } from '../helpers/redis-server.ts';
import { stateContract } from './shared-state.contract.ts';

// One redis-server for the file; each test gets its own key prefix, so tests cannot see each other's keys.
const skip = redisSkipReason();
let server: RedisServer | undefined;
before(async () => {
  if (skip === undefined) server = await launchRedisServer();
});
after(() => server?.stop());

function redisState(prefix = `contract-${randomUUID()}:`): RedisState {
  if (!server) throw new Error('redis-server did not start');
  return new RedisState({ url: server.url, prefix });
}

stateContract('RedisState', async () => redisState(), { skip });

test('RedisState answers exactly like MemoryState for the same calls', { skip }, async (t) => {
  const redis = redisState();
  const memory = new MemoryState();
  t.after(() => redis.close());
  // A seeded generator: a failure replays identically.
  let seed = 42;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const specs = [
    { limit: 3, periodMs: 1000 },
    { limit: 7, periodMs: 60_000, burst: 2 },
    { limit: 9000, periodMs: 60_000 },
  ];
  let now = 1_700_000_000_000;
  const seen = new Set<string>();
  for (let i = 0; i < 400; i++) {
    now += rand() * 400; // fractional milliseconds on purpose
    const key = pick(['a', 'b']);
    const op = (s: SharedState): Promise<unknown> => {
      if (i % 4 === 3) return s.acquireSlot(key, 3, `l${Math.floor(rand() * 5)}`, 1500, now);
      const spec = pick(specs);
      return s.rateLimit(key, spec, spec.limit > 100 ? Math.round(rand() * 4000) - 1000 : 1, now);
    };
    const seedBefore = seed;
    const fromMemory = await op(memory);
    seen.add(
      JSON.stringify(typeof fromMemory === 'object' ? (fromMemory as { allowed: boolean }).allowed : fromMemory),
    );
    seed = seedBefore; // the same random choices for the second implementation
    assert.deepEqual(await op(redis), fromMemory, `call ${i}`);
  }
  assert.equal(seen.size, 2, 'the sequence both admits and refuses');
});

test('RedisState keeps its keys under spillway:<prefix> with expiries', { skip }, async (t) => {
  const prefix = `layout-${randomUUID()}:`;
  const state = redisState(prefix);
  if (!server) throw new Error('redis-server did not start');
  const raw = new Redis(server.url);
  t.after(async () => {
    await state.close();
    await raw.quit();
  });
  const now = Date.now();
  const d = await state.rateLimit('tenant', { limit: 4, periodMs: 1000 }, 1, now);
  await state.acquireSlot('acct', 2, 'lease', 30_000, now);
  await state.setRestingUntil('acct', now + 10_000);
  const p = `spillway:${prefix}`;
  assert.equal(Number(await raw.get(`${p}rate:tenant`)), now + d.resetMs);
  const rateTtl = await raw.pttl(`${p}rate:tenant`);
  assert.ok(rateTtl > 0 && rateTtl <= 250, `rate pttl ${rateTtl}`);
  assert.deepEqual(await raw.zrange(`${p}slots:acct`, '0', '-1', 'WITHSCORES'), ['lease', String(now + 30_000)]);
  assert.ok((await raw.pttl(`${p}slots:acct`)) > 29_000);
  assert.equal(await raw.get(`${p}cool:acct`), String(now + 10_000));
  const restTtl = await raw.pttl(`${p}cool:acct`);
  assert.ok(restTtl > 3_600_000 && restTtl <= 3_610_000, `a rest is collected an hour after it ends (pttl ${restTtl})`);
});
