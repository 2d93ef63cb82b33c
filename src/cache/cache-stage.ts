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
export function cacheStage(config: Config, cache: ResponseCache | undefined, deps: { metrics: Metrics; passesThrough?: (ctx: RequestContext) => boolean }, downstream: Handler<RequestContext>): Stage<RequestContext> | undefined {
  if (cache === undefined) return undefined;
  const [c, { metrics }] = [config.cache, deps];
  const count = (model: string, result: string, level = ''): void => metrics.cacheLookups.inc({ model, result, level });
  const flights = new Coalescer(cache, metrics, downstream);

  /** A stored answer, as the label it is served under, counted as the lookup result it was. */
  const serve = (ctx: RequestContext, req: CacheRequest, found: Found, result: 'hit' | 'stale' | 'semantic_hit'): void => {
    count(req.model, result, found.level);
    serveCached(ctx, found.entry.body, result === 'stale' ? 'stale' : 'hit', req.usage);
  };

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
      // An identical request in flight answers sooner than an embeddings call could find a similar one.
      const sem = cache.semantic;
      const similar: SimilarLookup | undefined = sem !== undefined && use.lookup && flights.joinable(req) === undefined ? await lookupSimilar(ctx, req, sem, cache) : undefined;
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

/** Failures after which a stale answer is better than none: upstreams down, overloaded, limiting or too slow. */
function upstreamsFailed(err: unknown): boolean {
  return err instanceof SpillwayError && (err.status >= 500 || err.code === 'rate_limited' || err.code === 'deadline_unmeetable');
}
