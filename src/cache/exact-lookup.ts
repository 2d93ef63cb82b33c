import type { RequestContext } from '../server/context.ts';
import type { Found } from './answer-store.ts';
import type { EntryKey } from './cache-entry.ts';
import { requestHash, type CacheRequest } from './cache-request.ts';
import type { ResponseCache } from './response-cache.ts';

/** What the stored answers hold for a request: a fresh one to serve, else a stale one to keep in reserve. */
export interface ExactLookup {
  fresh?: Found;
  /** The fresh answer is to what the client asked before degrade mode changed the request. */
  undegraded?: boolean;
  stale?: Found;
}

/**
 * Looks the request up by its exact key. Degrade mode may have changed the model or max_tokens: the answer to what
 * the client really asked is looked up first (a fresh one is served as the hit it is; a stale one beats a degraded
 * answer). A stream that asks for usage cannot be served from an answer stored without it.
 */
export async function lookupExact(ctx: RequestContext, req: CacheRequest, cache: ResponseCache): Promise<ExactLookup> {
  const u = ctx.undegraded;
  const asked: EntryKey | undefined =
    u !== undefined && cache.models.has(u.model.name)
      ? { ...req.key, model: u.model.name, hash: requestHash(req.call, req.messages, u.model.name, u.body) }
      : undefined;
  let stale: Found | undefined;
  for (const k of asked === undefined ? [req.key] : [asked, req.key]) {
    const found = await cache.store.lookup(k);
    if (found === undefined || (req.usage && !found.entry.usage)) continue;
    if (found.freshness === 'fresh') return { fresh: found, undegraded: k === asked, stale };
    stale ??= found;
  }
  return { stale };
}
