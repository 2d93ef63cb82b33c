import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheUse, isDeterministic } from '../../../src/cache/cache-policy.ts';

const on: { requests: 'all' | 'opted_in'; sampled: boolean; coalesce: boolean } = {
  requests: 'all',
  sampled: false,
  coalesce: true,
};
const det = { temperature: 0 };

const CASES: {
  name: string;
  config?: Partial<typeof on>;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  want: [boolean, boolean, boolean];
}[] = [
  { name: 'a deterministic request: lookup, store, coalesce', want: [true, true, true] },
  {
    name: 'no-cache: no lookup, no joining, still stored',
    headers: { 'cache-control': 'no-cache' },
    want: [false, true, false],
  },
  {
    name: 'no-store: looked up and coalesced, not stored',
    headers: { 'cache-control': 'no-store' },
    want: [true, false, true],
  },
  {
    name: 'both directives, any case and spacing',
    headers: { 'cache-control': 'No-Store ,  NO-CACHE' },
    want: [false, false, false],
  },
  { name: 'x-spillway-cache: off opts out', headers: { 'x-spillway-cache': 'off' }, want: [false, false, false] },
  { name: 'opted_in without the header: nothing', config: { requests: 'opted_in' }, want: [false, false, false] },
  {
    name: 'opted_in with x-spillway-cache: on',
    config: { requests: 'opted_in' },
    headers: { 'x-spillway-cache': 'on' },
    want: [true, true, true],
  },
  { name: 'sampled (temperature 0.7, no seed): nothing', body: { temperature: 0.7 }, want: [false, false, false] },
  { name: 'sampled (temperature absent: the API default 1): nothing', body: {}, want: [false, false, false] },
  { name: 'sampled but seeded: cached', body: { temperature: 0.7, seed: 42 }, want: [true, true, true] },
  {
    name: 'sampled with cache.sampled: cached',
    config: { sampled: true },
    body: { temperature: 0.7 },
    want: [true, true, true],
  },
  { name: 'coalescing off in the config', config: { coalesce: false }, want: [true, true, false] },
];

for (const c of CASES) {
  test(`cache use: ${c.name}`, () => {
    const u = cacheUse({ ...on, ...c.config }, c.body ?? det, c.headers ?? {});
    assert.deepEqual([u.lookup, u.store, u.coalesce], c.want);
  });
}

test('deterministic: temperature 0 or a numeric seed', () => {
  assert.equal(isDeterministic({ temperature: 0 }), true);
  assert.equal(isDeterministic({ seed: 0 }), true);
  assert.equal(isDeterministic({ seed: '1' }), false);
  assert.equal(isDeterministic({ temperature: 0.01 }), false);
});
