import type { CacheConfig } from '../config/types.ts';
import type { Call, RequestContext } from '../server/context.ts';
import type { EntryKey } from './cache-entry.ts';
import { cacheKey } from './cache-key.ts';
import { cacheUse, type CacheUse } from './cache-policy.ts';
import type { ResponseCache } from './response-cache.ts';
import { wantsUsage } from './serve-cached.ts';

/** A request the cache looks at: what it may do for it, the entry it answers to, whether it asks for usage. */
export interface CacheRequest {
  call: Call;
  /** The public model, the metrics' label. */
  model: string;
  use: CacheUse;
  key: EntryKey;
  /** A stream asking for a usage chunk: only an answer stored with usage can serve it. */
  usage: boolean;
}

/**
 * The cache's view of a request. Undefined for one it may not touch: no parsed call or model yet, embeddings
 * (vectors are not worth keeping), or a model the cache does not serve. `bypass` (the public model) for one the
 * cache serves but that may neither look up, store nor coalesce (or that may be passed through to a Messages
 * upstream): no key is computed for it.
 */
export function cacheRequestOf(
  ctx: RequestContext,
  config: CacheConfig,
  cache: ResponseCache,
  passesThrough?: (ctx: RequestContext) => boolean,
): CacheRequest | { bypass: string } | undefined {
  const call = ctx.call;
  const model = ctx.model;
  if (call === undefined || model === undefined || call.endpoint === 'embeddings' || !cache.models.has(model.name))
    return undefined;
  // A Messages request that may be passed through to a Messages upstream: its answer would not be a chat one.
  if (passesThrough?.(ctx) === true) return { bypass: model.name };
  const use = cacheUse(config, call.body, ctx.req.headers);
  if (!use.lookup && !use.store && !use.coalesce) return { bypass: model.name };
  const key: EntryKey = {
    ns: cache.namespaces.of(ctx.tenant),
    model: model.name,
    hash: cacheKey(call.endpoint, model.name, call.body),
  };
  return { call, model: model.name, use, key, usage: wantsUsage(call.body) };
}

/** The key of identical requests, to find their flight. */
export function flightId(k: EntryKey): string {
  return `${k.ns}\u0000${k.model}\u0000${k.hash}`;
}
