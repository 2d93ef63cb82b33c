import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/cache/memory-store.ts';
import type { CacheEntry } from '../../../src/cache/cache-entry.ts';

const entry = (bytes: number): CacheEntry => ({ body: 'x'.repeat(bytes), usage: false, freshUntil: 1, staleUntil: 1 });
const key = (hash: string, model = 'm', ns = 't:a') => ({ ns, model, hash });

function store(maxBytes: number) {
  const seen = { evicted: 0, bytes: 0 };
  const s = new MemoryStore(maxBytes, { evicted: () => seen.evicted++, bytes: (n) => (seen.bytes = n) });
  return { s, seen };
}

test('memory store evicts the least recently used entries to stay under its byte bound', () => {
  // Each entry costs 800 body bytes + its key + 200 overhead: three fit in 3100 bytes, four do not.
  const { s, seen } = store(3100);
  s.set(key('a'), entry(800));
  s.set(key('b'), entry(800));
  s.set(key('c'), entry(800));
  assert.ok(s.get(key('a')), 'a is used, so b is now the oldest');
  s.set(key('d'), entry(800));
  assert.equal(s.get(key('b')), undefined, 'b evicted');
  assert.ok(s.get(key('a')) && s.get(key('c')) && s.get(key('d')));
  assert.equal(seen.evicted, 1);
  assert.ok(seen.bytes <= 3100 && seen.bytes === s.bytes);
});

test('memory store counts bytes of multi-byte text, not characters', () => {
  const { s } = store(100_000);
  s.set(key('a'), { ...entry(0), body: 'é'.repeat(1000) });
  const { s: s2 } = store(100_000);
  s2.set(key('a'), { ...entry(0), body: 'e'.repeat(1000) });
  assert.equal(s.bytes - s2.bytes, 1000);
});

test('memory store does not keep an entry larger than its whole bound', () => {
  const { s } = store(1000);
  s.set(key('a'), entry(5000));
  assert.equal(s.get(key('a')), undefined);
  assert.equal(s.bytes, 0);
});

test('memory store purges by model, by namespace, or both', () => {
  const { s, seen } = store(1_000_000);
  s.set(key('1', 'm1', 't:a'), entry(10));
  s.set(key('2', 'm2', 't:a'), entry(10));
  s.set(key('3', 'm1', 't:b'), entry(10));
  assert.equal(s.purge({ model: 'm1', ns: 't:b' }), 1);
  assert.equal(s.purge({ ns: 't:a' }), 2);
  assert.equal(s.bytes, 0);
  assert.equal(seen.evicted, 0, 'a purge is not an eviction');
});
