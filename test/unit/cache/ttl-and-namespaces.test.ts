import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/clock.ts';
import { freshness, jitteredTtlMs, lifetime } from '../../../src/cache/ttl.ts';
import { TenantNamespaces } from '../../../src/cache/tenant-namespaces.ts';

const JITTER: { name: string; ttl: number; pct: number; random: number; want: number }[] = [
  { name: 'no jitter', ttl: 60_000, pct: 0, random: 0.9, want: 60_000 },
  { name: 'lowest draw: ttl - pct', ttl: 60_000, pct: 10, random: 0, want: 54_000 },
  { name: 'middle draw: ttl', ttl: 60_000, pct: 10, random: 0.5, want: 60_000 },
  { name: 'highest draw: ttl + pct', ttl: 60_000, pct: 10, random: 1, want: 66_000 },
  { name: '100% jitter never reaches 0', ttl: 1000, pct: 100, random: 0, want: 1 },
];

for (const c of JITTER) {
  test(`ttl jitter: ${c.name}`, () =>
    assert.equal(
      jitteredTtlMs(c.ttl, c.pct, () => c.random),
      c.want,
    ));
}

test('ttl jitter spreads a burst of entries over the whole band', () => {
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const ttls = Array.from({ length: 1000 }, () => jitteredTtlMs(60_000, 10, random));
  assert.ok(Math.min(...ttls) >= 54_000 && Math.max(...ttls) <= 66_000);
  assert.ok(Math.max(...ttls) - Math.min(...ttls) > 10_000, 'spread, not clumped');
});

test('an entry is fresh until its TTL, stale within stale_for, then gone (fake clock)', () => {
  const clock = new FakeClock(1000);
  const l = lifetime(clock.now(), 60_000, 0, 30_000, () => 0.5);
  const rows: [number, string][] = [
    [0, 'fresh'],
    [59_999, 'fresh'],
    [60_000, 'stale'],
    [89_999, 'stale'],
    [90_000, 'gone'],
  ];
  for (const [at, want] of rows) {
    clock.set(1000 + at);
    assert.equal(freshness(l, clock.now()), want, `at +${at} ms`);
  }
  assert.equal(
    freshness(
      lifetime(0, 1000, 0, 0, () => 0.5),
      1000,
    ),
    'gone',
    'stale_for 0: never stale',
  );
});

test('tenant namespaces: own namespace per tenant, shared within a group, one for no tenant', () => {
  const ns = new TenantNamespaces({ team: ['a', 'b'], g: ['c'] });
  const rows: [string | undefined, string][] = [
    ['a', 'g:team'],
    ['b', 'g:team'],
    ['c', 'g:g'],
    ['g', 't:g'],
    ['z', 't:z'],
    [undefined, '-'],
  ];
  for (const [tenant, want] of rows) assert.equal(ns.of(tenant), want, String(tenant));
});
