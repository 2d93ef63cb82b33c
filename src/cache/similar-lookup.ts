import type { RequestContext } from '../server/context.ts';
import type { Found } from './answer-store.ts';
import { cacheKey } from './cache-key.ts';
import type { CacheRequest } from './cache-request.ts';
import { promptText, withoutPrompt } from './prompt-text.ts';
import type { ResponseCache, Semantic } from './response-cache.ts';
import type { Partition } from './semantic-index.ts';

/** Where a request's prompt embedding goes once its answer is stored. */
export interface Indexing {
  partition: Partition;
  vector: number[];
}

/** A fresh answer to a similar prompt; else where to index this prompt once answered, unless it has no vector. */
export type SimilarLookup =
  { kind: 'hit'; found: Found; similarity: number } | { kind: 'miss'; indexing: Indexing } | { kind: 'embed_failed' };

/**
 * The semantic level: embeds the prompt and looks for the nearest stored prompt of the same shape (everything but
 * the prompt equal) above the threshold. An index entry whose answer has left the store is dropped on the way.
 */
export async function lookupSimilar(
  ctx: RequestContext,
  req: CacheRequest,
  sem: Semantic,
  cache: ResponseCache,
): Promise<SimilarLookup> {
  const { call, key } = req;
  const partition: Partition = {
    ns: key.ns,
    model: key.model,
    shape: cacheKey(call.endpoint, req.model, withoutPrompt(call.body)),
  };
  const vector = await sem.embedder.embed(promptText(call.endpoint, call.body), ctx.clientGone);
  if (vector === undefined) return { kind: 'embed_failed' };
  const near = await sem.index.nearest(partition, vector, sem.threshold);
  if (near !== undefined && near.hash !== key.hash) {
    const found = await cache.store.lookup({ ...key, hash: near.hash });
    if (found === undefined) await sem.index.delete(partition, near.hash);
    else if (found.freshness === 'fresh' && (!req.usage || found.entry.usage))
      return { kind: 'hit', found, similarity: near.similarity };
  }
  return { kind: 'miss', indexing: { partition, vector } };
}
