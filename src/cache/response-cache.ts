import type { Config } from '../config/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import { AnswerStore } from './answer-store.ts';
import type { Flight } from './flight.ts';
import { TenantNamespaces } from './tenant-namespaces.ts';
import type { PurgeFilter } from './cache-entry.ts';
import type { Clock } from '../clock.ts';
import { Embedder } from './embedder.ts';
import { SemanticIndex, type VectorIndex } from './semantic-index.ts';

/** The semantic cache's parts, when `cache.semantic` is set. */
export interface Semantic {
  index: VectorIndex;
  embedder: Embedder;
  threshold: number;
}

/**
 * Everything the cache keeps between requests: the two-level answer store, the flights in progress (by entry key)
 * and the tenant namespaces. Built once at startup when `cache.models` is not empty; the admin purge route and
 * the cache stage share it.
 */
export class ResponseCache {
  readonly store: AnswerStore;
  readonly flights = new Map<string, Flight>();
  readonly namespaces: TenantNamespaces;
  readonly models: ReadonlySet<string>;
  readonly semantic: Semantic | undefined;

  constructor(config: Config, metrics: Metrics, opts: { clock?: Clock; random?: () => number } = {}) {
    this.namespaces = new TenantNamespaces(config.cache.tenantGroups);
    this.models = new Set(config.cache.models);
    this.store = new AnswerStore(
      config.cache,
      {
        evicted: () => metrics.cacheEvictions.inc(),
        bytes: (n) => metrics.cacheBytes.set(n),
        l2Error: () => metrics.cacheRedisErrors.inc(),
      },
      opts,
    );
    const sem = config.cache.semantic;
    const upstream = sem === null ? undefined : config.upstreams.find((u) => u.name === sem.upstream);
    this.semantic =
      sem === null || upstream === undefined
        ? undefined
        : {
            // With a Redis level the vectors are shared too; otherwise each instance keeps its own.
            index: this.store.vectors(sem.maxEntries) ?? new SemanticIndex(sem.maxEntries),
            embedder: new Embedder(upstream, sem.model),
            threshold: sem.threshold,
          };
  }

  /** Removes stored answers of one model, one tenant's namespace, or everything; flights in progress finish. */
  purge(f: { model?: string | undefined; tenant?: string | undefined }): Promise<{ memory: number; redis: number }> {
    const filter: PurgeFilter = {
      model: f.model,
      ns: f.tenant === undefined ? undefined : this.namespaces.of(f.tenant),
    };
    return this.store.purge(filter);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
