import { LRUCache } from 'lru-cache';

/** The nearest stored prompt to a query, by cosine similarity. */
export interface Nearest {
  hash: string;
  similarity: number;
}

/**
 * Which prompts may answer for each other: the same namespace, model and `shape` (a hash of every
 * answer-determining field except the prompt itself), so a similar question can only be answered by an answer
 * produced under the same tools, temperature, max_tokens, ….
 */
export interface Partition {
  ns: string;
  model: string;
  shape: string;
}

/** Where prompt vectors live: this instance's memory, or Redis (shared by every instance). */
export interface VectorIndex {
  nearest(p: Partition, vector: readonly number[], threshold: number): Promise<Nearest | undefined>;
  /** Remembers a stored answer's prompt vector for as long as the answer can be served (`ttlMs`). */
  add(p: Partition, hash: string, vector: readonly number[], ttlMs: number): Promise<void>;
  /** Forgets a vector whose answer is gone (expired or purged), so it is not found again. */
  delete(p: Partition, hash: string): Promise<void>;
}

/**
 * The best match at or above `threshold` among unit vectors. Hand-written: a linear scan of at most `max_entries`
 * vectors takes a few milliseconds, far below the embeddings call before it, and an approximate-nearest-neighbour
 * library (HNSW) would add a native dependency for nothing at this size.
 */
export function nearestOf(
  vectors: Iterable<[string, Float32Array]>,
  query: Float32Array,
  threshold: number,
): Nearest | undefined {
  let best: Nearest | undefined;
  for (const [hash, v] of vectors) {
    if (v.length !== query.length) continue;
    let dot = 0;
    for (let i = 0; i < query.length; i++) dot += (query[i] as number) * (v[i] as number);
    if (dot >= threshold && (best === undefined || dot > best.similarity)) best = { hash, similarity: dot };
  }
  return best;
}

/** The vector scaled to length 1, so a dot product is the cosine similarity; undefined for a zero vector. */
export function unitVector(v: readonly number[]): Float32Array | undefined {
  let n = 0;
  for (const x of v) n += x * x;
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  const s = 1 / Math.sqrt(n);
  return Float32Array.from(v, (x) => x * s);
}

function partitionId(p: Partition): string {
  return `${p.ns}\u0000${p.model}\u0000${p.shape}`;
}

/** Prompt vectors in this instance's memory, at most `maxEntries` in all (the oldest forgotten first, by lru-cache). */
export class SemanticIndex implements VectorIndex {
  private readonly partitions = new Map<string, Map<string, Float32Array>>();
  private readonly order: LRUCache<string, { partition: string; hash: string }>;

  constructor(maxEntries: number) {
    this.order = new LRUCache({
      max: maxEntries,
      dispose: ({ partition, hash }) => {
        const p = this.partitions.get(partition);
        p?.delete(hash);
        if (p?.size === 0) this.partitions.delete(partition);
      },
    });
  }

  async add(partition: Partition, hash: string, vector: readonly number[]): Promise<void> {
    const v = unitVector(vector);
    if (v === undefined) return;
    const id = partitionId(partition);
    let p = this.partitions.get(id);
    if (p === undefined) {
      p = new Map();
      this.partitions.set(id, p);
    }
    p.set(hash, v);
    this.order.set(`${id}\u0000${hash}`, { partition: id, hash });
  }

  async nearest(partition: Partition, vector: readonly number[], threshold: number): Promise<Nearest | undefined> {
    const q = unitVector(vector);
    const p = this.partitions.get(partitionId(partition));
    return q === undefined || p === undefined ? undefined : nearestOf(p, q, threshold);
  }

  async delete(partition: Partition, hash: string): Promise<void> {
    this.order.delete(`${partitionId(partition)}\u0000${hash}`);
  }

  get size(): number {
    return this.order.size;
  }
}
