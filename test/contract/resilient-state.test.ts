import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { RedisState } from '../../src/state/redis-state.ts';
import { ResilientState } from '../../src/state/resilient-state.ts';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.ts';

const NOW = 1_700_000_000_000;

/** Bounded polling for a state change that has no event of its own (ioredis reconnects on its own schedule). */
async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test(
  'ResilientState rides out a Redis outage on scaled local limits and returns to Redis',
  { skip: redisSkipReason() },
  async (t) => {
    const server = await startRedisServer(t);
    const prefix = `resilient-${randomUUID()}:`;
    const logs: { level: string; msg: string }[] = [];
    const log = {
      warn: (_o: object, msg: string) => logs.push({ level: 'warn', msg }),
      info: (_o: object, msg: string) => logs.push({ level: 'info', msg }),
    };
    const changes: boolean[] = [];
    const state = new ResilientState({
      redis: new RedisState({ url: server.url, prefix }),
      localFraction: 0.5,
      log,
      probeIntervalMs: 50,
      onChange: (degraded) => changes.push(degraded),
    });
    const observer = new RedisState({ url: server.url, prefix }); // reads what is really in Redis
    t.after(() => Promise.all([state.close(), observer.close()]));
    const spec = { limit: 10, periodMs: 60_000 };
    const admitted = async (n: number): Promise<number> => {
      const all = await Promise.all(Array.from({ length: n }, () => state.rateLimit('tenant', spec, 1, NOW)));
      return all.filter((d) => d.allowed).length;
    };

    // Through Redis: the whole cap, visible to other instances.
    for (let i = 0; i < 4; i++) assert.equal(await state.acquireSlot('acct', 4, `r${i}`, 60_000, NOW), true);
    assert.equal(await state.acquireSlot('acct', 4, 'r4', 60_000, NOW), false);
    assert.equal(await observer.slotsInUse('acct', NOW), 4);
    assert.equal(state.kind, 'redis');

    // Redis dies: calls keep answering, from local state with half of every limit.
    await server.stop();
    assert.equal(await state.acquireSlot('acct', 4, 'l0', 60_000, NOW), true);
    assert.equal(state.kind, 'local-fallback');
    assert.equal(await state.acquireSlot('acct', 4, 'l1', 60_000, NOW), true);
    assert.equal(await state.acquireSlot('acct', 4, 'l2', 60_000, NOW), false, 'cap 4 × 0.5 = 2 locally');
    assert.equal(await admitted(8), 5, 'limit 10 × 0.5 = 5 locally');
    await state.releaseSlot('acct', 'r0'); // held in Redis: cannot be released now, expires by its TTL
    await state.setRestingUntil('acct', NOW + 1000);
    assert.equal(await state.restingUntil('acct', NOW), NOW + 1000);
    const restingUntil = Date.now() + 60_000; // an account that answered 429 during the outage, resting for a minute
    await state.setRestingUntil('acct-429', restingUntil);
    assert.deepEqual(
      logs.map((l) => l.level),
      ['warn'],
      'one warning however many calls failed',
    );
    assert.deepEqual(changes, [true]);

    // Redis comes back on the same port (empty: no persistence): the probe notices and Redis answers again.
    await startRedisServer(t, { port: server.port });
    await until('kind redis', () => state.kind === 'redis');
    assert.deepEqual(
      logs.map((l) => l.level),
      ['warn', 'info'],
    );
    assert.deepEqual(changes, [true, false]);
    // Written to Redis right after recovery, without an event of its own: bounded polling.
    for (let i = 0; i < 100 && (await observer.restingUntil('acct-429', Date.now())) !== restingUntil; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await observer.restingUntil('acct-429', Date.now()), restingUntil, 'the other instances learn of it');
    await state.releaseSlot('acct', 'l0'); // taken locally: released locally
    await state.releaseSlot('acct', 'l1');
    for (let i = 0; i < 4; i++) assert.equal(await state.acquireSlot('acct', 4, `n${i}`, 60_000, NOW), true);
    assert.equal(await state.acquireSlot('acct', 4, 'n4', 60_000, NOW), false);
    assert.equal(await observer.slotsInUse('acct', NOW), 4, 'the new leases are in Redis');
    assert.equal(await admitted(12), 10, 'the full shared limit again');
  },
);

test('ResilientState refuses a localFraction outside (0, 1]', () => {
  const redis = { kind: 'fake' } as unknown as RedisState;
  const log = { warn: () => {}, info: () => {} };
  assert.throws(() => new ResilientState({ redis, localFraction: 0, log }), /localFraction=0 is not valid/);
  assert.throws(() => new ResilientState({ redis, localFraction: 2, log }), /localFraction=2 is not valid/);
});
