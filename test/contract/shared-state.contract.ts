import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { RateLimitSpec, SharedState } from '../../src/state/shared-state.ts';

/** An epoch-sized clock value: the precision problems of real timestamps must show up here too. */
const NOW = 1_700_000_000_000;

/**
 * The behaviour every SharedState must have, run against each implementation (memory, Redis). `make` returns a
 * fresh, empty state for each test; the test closes it. `skip` skips the whole suite (e.g. no redis-server).
 */
export function stateContract(name: string, make: () => Promise<SharedState>, opts: { skip?: string } = {}): void {
  describe(`${name} honours the SharedState contract`, { skip: opts.skip }, () => {
    async function fresh(t: TestContext): Promise<SharedState> {
      const s = await make();
      t.after(() => s.close());
      return s;
    }
    async function admitted(s: SharedState, key: string, spec: RateLimitSpec, n: number, at: number): Promise<number> {
      let ok = 0;
      for (let i = 0; i < n; i++) if ((await s.rateLimit(key, spec, 1, at)).allowed) ok++;
      return ok;
    }

    test('GCRA admits exactly the burst then one per interval', async (t) => {
      const s = await fresh(t);
      const spec = { limit: 4, periodMs: 1000, burst: 2 }; // one every 250 ms, two at once
      assert.deepEqual(await s.rateLimit('k', spec, 1, NOW), {
        allowed: true,
        retryAfterMs: 0,
        remaining: 1,
        resetMs: 250,
      });
      assert.deepEqual(await s.rateLimit('k', spec, 1, NOW), {
        allowed: true,
        retryAfterMs: 0,
        remaining: 0,
        resetMs: 500,
      });
      assert.deepEqual(await s.rateLimit('k', spec, 1, NOW), {
        allowed: false,
        retryAfterMs: 250,
        remaining: 0,
        resetMs: 500,
      });
      for (let i = 1; i <= 5; i++) assert.equal(await admitted(s, 'k', spec, 3, NOW + i * 250), 1, `interval ${i}`);
      assert.equal(
        await admitted(s, 'k', spec, 3, NOW + 5 * 250 + 10_000),
        2,
        'idle long enough: the full burst again',
      );
    });

    test('the burst defaults to one period and stays exact when the interval is not a whole number', async (t) => {
      const s = await fresh(t);
      assert.equal(await admitted(s, 'thirds', { limit: 3, periodMs: 1000 }, 10, NOW), 3);
      const spec = { limit: 7, periodMs: 60_000 };
      assert.equal(await admitted(s, 'sevenths', spec, 10, NOW), 7);
      const interval = (await s.rateLimit('sevenths', spec, 1, NOW)).retryAfterMs;
      assert.ok(Math.abs(interval - 60_000 / 7) < 0.01, `interval ${interval}`);
      for (let i = 1; i <= 20; i++)
        assert.equal(await admitted(s, 'sevenths', spec, 2, NOW + i * interval), 1, `interval ${i}`);
    });

    test('a negative cost gives back tokens', async (t) => {
      const s = await fresh(t);
      const spec = { limit: 100, periodMs: 1000 }; // tokens: 10 ms each
      assert.equal((await s.rateLimit('k', spec, 60, NOW)).remaining, 40);
      assert.deepEqual(await s.rateLimit('k', spec, -25, NOW), {
        allowed: true,
        retryAfterMs: 0,
        remaining: 65,
        resetMs: 350,
      });
      assert.deepEqual(await s.rateLimit('k', spec, -1000, NOW), {
        allowed: true,
        retryAfterMs: 0,
        remaining: 100,
        resetMs: 0,
      });
      assert.equal((await s.rateLimit('k', spec, 100, NOW)).allowed, true, 'never fuller than full, but full');
      assert.equal((await s.rateLimit('k', spec, 1, NOW)).allowed, false);
    });

    test('retryAfterMs is exact', async (t) => {
      const s = await fresh(t);
      const spec = { limit: 3, periodMs: 1000 };
      assert.equal(await admitted(s, 'k', spec, 3, NOW), 3);
      const refused = await s.rateLimit('k', spec, 2, NOW);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs > 600 && refused.retryAfterMs < 700, `retryAfterMs ${refused.retryAfterMs}`);
      const early = await s.rateLimit('k', spec, 2, NOW + refused.retryAfterMs - 1);
      assert.deepEqual([early.allowed, early.retryAfterMs], [false, 1], 'one ms early: refused, one ms to go');
      assert.equal(
        (await s.rateLimit('k', spec, 2, NOW + refused.retryAfterMs)).allowed,
        true,
        'refusals spent nothing',
      );
    });

    test('a cost above the burst is refused with an infinite retryAfterMs', async (t) => {
      const s = await fresh(t);
      const d = await s.rateLimit('k', { limit: 10, periodMs: 1000 }, 11, NOW);
      assert.deepEqual(d, { allowed: false, retryAfterMs: Number.POSITIVE_INFINITY, remaining: 10, resetMs: 0 });
    });

    test('parallel rateLimit calls admit exactly the burst', async (t) => {
      const s = await fresh(t);
      const spec = { limit: 10, periodMs: 60_000 };
      const all = await Promise.all(Array.from({ length: 100 }, () => s.rateLimit('k', spec, 1, NOW)));
      assert.equal(all.filter((d) => d.allowed).length, 10);
    });

    test('keys are independent', async (t) => {
      const s = await fresh(t);
      const spec = { limit: 1, periodMs: 1000 };
      assert.equal((await s.rateLimit('a', spec, 1, NOW)).allowed, true);
      assert.equal((await s.rateLimit('b', spec, 1, NOW)).allowed, true);
      assert.equal(await s.acquireSlot('a', 1, 'x', 1000, NOW), true);
      assert.equal(await s.acquireSlot('b', 1, 'y', 1000, NOW), true);
      await s.setRestingUntil('a', NOW + 5000);
      assert.equal(await s.restingUntil('b', NOW), 0);
      assert.equal(await s.slotsInUse('c', NOW), 0);
    });

    test('slots never exceed the cap', async (t) => {
      const s = await fresh(t);
      for (let i = 0; i < 3; i++) assert.equal(await s.acquireSlot('acct', 3, `l${i}`, 60_000, NOW), true);
      assert.equal(await s.acquireSlot('acct', 3, 'l3', 60_000, NOW), false);
      assert.equal(await s.slotsInUse('acct', NOW), 3);
    });

    test('acquiring a held lease again renews it without taking another slot', async (t) => {
      const s = await fresh(t);
      assert.equal(await s.acquireSlot('acct', 2, 'l', 1000, NOW), true);
      assert.equal(await s.acquireSlot('acct', 2, 'l', 1000, NOW + 500), true);
      assert.equal(await s.slotsInUse('acct', NOW + 1200), 1, 'renewed until NOW + 1500');
      assert.equal(await s.slotsInUse('acct', NOW + 1500), 0);
    });

    test('an expired slot frees itself', async (t) => {
      const s = await fresh(t);
      assert.equal(await s.acquireSlot('acct', 1, 'crashed', 1000, NOW), true);
      assert.equal(await s.acquireSlot('acct', 1, 'next', 1000, NOW + 999), false);
      assert.equal(await s.slotsInUse('acct', NOW + 999), 1);
      assert.equal(await s.slotsInUse('acct', NOW + 1000), 0);
      assert.equal(await s.acquireSlot('acct', 1, 'next', 1000, NOW + 1000), true);
    });

    test('release frees the slot', async (t) => {
      const s = await fresh(t);
      assert.equal(await s.acquireSlot('acct', 1, 'a', 60_000, NOW), true);
      await s.releaseSlot('acct', 'unknown'); // a no-op
      assert.equal(await s.acquireSlot('acct', 1, 'b', 60_000, NOW), false);
      await s.releaseSlot('acct', 'a');
      assert.equal(await s.slotsInUse('acct', NOW), 0);
      assert.equal(await s.acquireSlot('acct', 1, 'b', 60_000, NOW), true);
    });

    test('a rest only extends', async (t) => {
      const s = await fresh(t);
      assert.equal(await s.restingUntil('acct', NOW), 0);
      await s.setRestingUntil('acct', NOW + 5000);
      await s.setRestingUntil('acct', NOW + 3000);
      assert.equal(await s.restingUntil('acct', NOW), NOW + 5000);
      await s.setRestingUntil('acct', NOW + 8000);
      assert.equal(await s.restingUntil('acct', NOW + 7999), NOW + 8000);
      assert.equal(await s.restingUntil('acct', NOW + 8000), 0, 'over once the time is reached');
    });

    test('200 parallel acquireSlot calls with cap 7 grant exactly 7', async (t) => {
      const s = await fresh(t);
      const got = await Promise.all(
        Array.from({ length: 200 }, (_v, i) => s.acquireSlot('acct', 7, `l${i}`, 60_000, NOW)),
      );
      assert.equal(got.filter(Boolean).length, 7);
      assert.equal(await s.slotsInUse('acct', NOW), 7);
    });
  });
}
