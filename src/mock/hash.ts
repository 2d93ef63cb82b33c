/**
 * Tiny non-cryptographic hashes for the simulator's deterministic output. Answers and embeddings must be a pure
 * function of their inputs (so a test can recompute them), and they must be cheap (the mock is the "free" upstream
 * of the overhead benchmark), so FNV-1a plus a murmur3 finalizer rather than node:crypto.
 */

/** FNV-1a over the UTF-16 code units of `text`, started from `seed` so different seeds give unrelated streams. */
export function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Derives the i-th value from a base hash (murmur3 fmix32), so each position looks independent. */
export function mix32(base: number, i: number): number {
  let h = (base ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
