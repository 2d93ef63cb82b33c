import { LRUCache } from 'lru-cache';

/** The nearest stored prompt to a query, by cosine similarity. */
export interface Nearest {
  hash: string;
  similarity: number;
}

/**
 * Prompt embeddings of stored answers, for the semantic cache: a linear scan for the nearest vector within one
 * partition (same namespace, model and every answer-determining field except the prompt itself), so a similar
 * question can only be answered by an answer produced under the same tools, temperature, max_tokens, ….
 *
 * Hand-written: a scan of at most `max_entries` vectors is a few milliseconds, far below the embeddings call that
 * precedes it, and an approximate-nearest-neighbour library (HNSW) would add a native dependency for nothing at
 * this size. The oldest vectors are forgotten first (lru-cache bounds the count).
 */
export class SemanticIndex {
  private readonly partitions = new Map<string, Map<string, Float32Array>>();
  private readonly order: LRUCache<string, string>;

  constructor(maxEntries: number) {
    this.order = new LRUCache<string, string>({
      max: maxEntries,
      dispose: (partition, id) => {
        const p = this.partitions.get(partition);
        p?.delete(hashOf(id));
        if (p?.size === 0) this.partitions.delete(partition);
      },
    });
  }

  add(partition: string, hash: string, vector: readonly number[]): void {
    const v = unit(vector);
    if (v === undefined) return;
    let p = this.partitions.get(partition);
    if (p === undefined) {
      p = new Map();
      this.partitions.set(partition, p);
    }
    p.set(hash, v);
    this.order.set(`${partition}\u0000${hash}`, partition);
  }

  nearest(partition: string, vector: readonly number[], threshold: number): Nearest | undefined {
    const q = unit(vector);
    const p = this.partitions.get(partition);
    if (q === undefined || p === undefined) return undefined;
    let best: Nearest | undefined;
    for (const [hash, v] of p) {
      if (v.length !== q.length) continue;
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += (q[i] as number) * (v[i] as number);
      if (dot >= threshold && (best === undefined || dot > best.similarity)) best = { hash, similarity: dot };
    }
    return best;
  }

  /** Forgets a vector whose answer is gone (expired or purged), so it is not found again. */
  delete(partition: string, hash: string): void {
    this.order.delete(`${partition}\u0000${hash}`);
  }

  get size(): number {
    return this.order.size;
  }
}

function hashOf(id: string): string {
  return id.slice(id.indexOf('\u0000') + 1);
}

/** The vector scaled to length 1, so a dot product is the cosine similarity; undefined for a zero vector. */
function unit(v: readonly number[]): Float32Array | undefined {
  let n = 0;
  for (const x of v) n += x * x;
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  const s = 1 / Math.sqrt(n);
  return Float32Array.from(v, (x) => x * s);
}
