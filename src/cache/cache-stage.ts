import { SpillwayError } from '../errors.ts';
import type { Config } from '../config/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Handler, Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { Found } from './answer-store.ts';
import { cacheRequestOf, type CacheRequest } from './cache-request.ts';
import { Coalescer } from './coalescer.ts';
import { lookupExact } from './exact-lookup.ts';
import type { ResponseCache } from './response-cache.ts';
import { serveCached } from './serve-cached.ts';
import { lookupSimilar, type SimilarLookup } from './similar-lookup.ts';

/**
 * Exact-match answers and request coalescing, between degrade and dispatch:
 *
 *   fresh entry ─────────────────────────────▶ hit (no upstream)
 *   stale entry + degrade mode ───────────────▶ stale (no upstream)
 *   semantic: a fresh entry of a similar prompt ▶ hit (no upstream; x-spillway-cache-similarity)
 *   identical request in flight ──────────────▶ coalesced (shares its upstream call)
 *   otherwise ─▶ a new flight runs dispatch ──▶ miss; a complete answer is stored
 *                 └ every upstream failed + stale entry ─▶ stale
 *
 * `downstream` is the rest of the pipeline (dispatch): a flight runs it on a context of its own, so its answer can
 * be shared. Requests the cache may not touch go to `next()` unchanged. Undefined (left out of the pipeline) when no
 * model is cached (`cache` undefined).
 */
export function cacheStage(
  config: Config,
  cache: ResponseCache | undefined,
  deps: { metrics: Metrics; passesThrough?: (ctx: RequestContext) => boolean },
  downstream: Handler<RequestContext>,
): Stage<RequestContext> | undefined {
  if (cache === undefined) return undefined;
  const c = config.cache;
  const { metrics } = deps;
  const count: Count = (model, result, level = '') => metrics.cacheLookups.inc({ model, result, level });
  const flights = new Coalescer(cache, metrics, downstream);
  const serve = (ctx: RequestContext, req: CacheRequest, found: Found, result: Served) =>
    serveFound(ctx, req, found, result, count);

  return {
    name: 'cache',
    async run(ctx, next) {
      const req = cacheRequestOf(ctx, c, cache, deps.passesThrough);
      if (req === undefined) return next();
      if ('bypass' in req) {
        count(req.bypass, 'bypass');
        return next();
      }
      const { use } = req;
      const exact = use.lookup ? await lookupExact(ctx, req, cache) : {};
      if (exact.fresh !== undefined) {
        if (exact.undegraded === true) ctx.res.removeHeader('x-spillway-degraded');
        return serve(ctx, req, exact.fresh, 'hit');
      }
      const stale = exact.stale;
      if (stale !== undefined && c.staleWhenDegraded && ctx.degraded === true) {
        metrics.degradeActions.inc({ action: 'stale_cache' });
        ctx.res.setHeader('x-spillway-degraded', 'stale_cache');
        return serve(ctx, req, stale, 'stale');
      }
      const similar = await findSimilar(ctx, req, cache, flights);
      if (similar?.kind === 'embed_failed') count(req.model, 'semantic_error');
      if (similar?.kind === 'hit') {
        ctx.res.setHeader('x-spillway-cache-similarity', similar.similarity.toFixed(4));
        return serve(ctx, req, similar.found, 'semantic_hit');
      }
      try {
        await flights.fly(ctx, req, similar?.kind === 'miss' ? similar.indexing : undefined);
      } catch (err) {
        if (stale === undefined || !c.staleOnError || !upstreamsFailed(err) || ctx.res.headersSent) throw err;
        serve(ctx, req, stale, 'stale');
      }
    },
  };
}

type Count = (model: string, result: string, level?: string) => void;
type Served = 'hit' | 'stale' | 'semantic_hit';

/** A stored answer, as the label it is served under, counted as the lookup result it was. */
function serveFound(ctx: RequestContext, req: CacheRequest, found: Found, result: Served, count: Count): void {
  count(req.model, result, found.level);
  serveCached(ctx, found.entry.body, result === 'stale' ? 'stale' : 'hit', req);
}

/** A similar prompt's answer (semantic cache); not looked for when an identical request in flight answers sooner. */
async function findSimilar(
  ctx: RequestContext,
  req: CacheRequest,
  cache: ResponseCache,
  flights: Coalescer,
): Promise<SimilarLookup | undefined> {
  const sem = cache.semantic;
  // Similar prompts' answers are chat ones (the index is keyed on chat prompts): a Messages-form request has none.
  if (sem === undefined || req.messages || !req.use.lookup || flights.joinable(req) !== undefined) return undefined;
  return lookupSimilar(ctx, req, sem, cache);
}

/** Failures after which a stale answer is better than none: upstreams down, overloaded, limiting or too slow. */
function upstreamsFailed(err: unknown): boolean {
  return (
    err instanceof SpillwayError &&
    (err.status >= 500 || err.code === 'rate_limited' || err.code === 'deadline_unmeetable')
  );
}
