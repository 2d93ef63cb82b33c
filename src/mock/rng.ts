import { mix32 } from './hash.ts';

/**
 * Seeded randomness for the simulator's probabilistic behaviour (fault draws, jitter). Math.random() would make a
 * flaky run impossible to replay; a seeded generator makes "5% of requests fail" the same 5% on every run.
 *
 * Each request gets its own generator, derived from (seed, stream, request index): what request #n draws does not
 * depend on how many numbers earlier requests drew, nor on the order in which concurrent answers run their timers.
 */
export type Rng = () => number;

/** mulberry32: tiny, fast, and statistically fine for simulation (not for anything secret). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Separate streams per purpose, so turning jitter on does not change which requests get faults. */
export const RNG_STREAM = { faults: 0x6661756c, jitter: 0x6a697474 } as const;

/** The generator for one request: request `index` (1, 2, …, in arrival order) of `stream`, under `seed`. */
export function requestRng(seed: number, stream: number, index: number): Rng {
  return createRng(mix32(mix32(seed >>> 0, stream), index));
}
