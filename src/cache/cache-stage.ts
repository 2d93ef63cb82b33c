import { SpillwayError } from '../errors.ts';
import type { Config } from '../config/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Handler, Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { Found } from './answer-store.ts';
import type { EntryKey } from './cache-entry.ts';
import { cacheKey } from './cache-key.ts';
import { cacheUse, type CacheUse } from './cache-policy.ts';
import { Flight } from './flight.ts';
import type { Answer } from './landed-answer.ts';
import type { ResponseCache } from './response-cache.ts';
import { serveCached, wantsUsage } from './serve-cached.ts';
import { promptText, withoutPrompt } from './prompt-text.ts';
import type { Partition } from './semantic-index.ts';

/** Where a request's prompt embedding goes once its answer is stored. */
interface Indexing {
  partition: Partition;
  vector: number[];
}

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
 * be shared. Requests the cache may not touch go to `next()` unchanged.
 */
export function cacheStage(config: Config, cache: ResponseCache, deps: { metrics: Metrics; passesThrough?: (ctx: RequestContext) => boolean }, downstream: Handler<RequestContext>): Stage<RequestContext> {
  const c = config.cache;
  const { metrics } = deps;
  const count = (model: string, result: string, level = ''): void => metrics.cacheLookups.inc({ model, result, level });
  return {
    name: 'cache',
    async run(ctx, next) {
      const call = ctx.call;
      const model = ctx.model;
      if (call === undefined || model === undefined || call.endpoint === 'embeddings' || !cache.models.has(model.name)) return next();
      // A Messages request that may be passed through to a Messages upstream: its answer would not be a chat one.
      if (deps.passesThrough?.(ctx) === true) {
        count(model.name, 'bypass');
        return next();
      }
      const use = cacheUse(c, call.body, ctx.req.headers);
      if (!use.lookup && !use.store && !use.coalesce) {
        count(model.name, 'bypass');
        return next();
      }
      const key: EntryKey = { ns: cache.namespaces.of(ctx.tenant), model: model.name, hash: cacheKey(call.endpoint, model.name, call.body) };
      const usage = wantsUsage(call.body);
      let stale: Found | undefined;
      if (use.lookup) {
        // Degrade mode may have changed the model or max_tokens: the answer to what the client really asked is
        // looked up first (a fresh one is served as the hit it is; a stale one beats a degraded answer).
        const u = ctx.undegraded;
        const asked = u !== undefined && cache.models.has(u.model.name) ? { ...key, model: u.model.name, hash: cacheKey(call.endpoint, u.model.name, u.body) } : undefined;
        for (const k of asked === undefined ? [key] : [asked, key]) {
          const found = await cache.store.lookup(k);
          // A stream that asks for usage cannot be served from an answer stored without it.
          if (found === undefined || (usage && !found.entry.usage)) continue;
          if (found.freshness === 'fresh') {
            count(model.name, 'hit', found.level);
            if (k === asked) ctx.res.removeHeader('x-spillway-degraded');
            return serveCached(ctx, found.entry.body, 'hit', usage);
          }
          stale ??= found;
        }
        if (stale !== undefined && c.staleWhenDegraded && ctx.degraded === true) {
          count(model.name, 'stale', stale.level);
          metrics.degradeActions.inc({ action: 'stale_cache' });
          ctx.res.setHeader('x-spillway-degraded', 'stale_cache');
          return serveCached(ctx, stale.entry.body, 'stale', usage);
        }
      }
      let indexing: Indexing | undefined;
      const sem = cache.semantic;
      // An identical request in flight answers sooner than an embeddings call could find a similar one.
      if (sem !== undefined && use.lookup && joinable(flightId(key), use, usage) === undefined) {
        const partition: Partition = { ns: key.ns, model: key.model, shape: cacheKey(call.endpoint, model.name, withoutPrompt(call.body)) };
        const vector = await sem.embedder.embed(promptText(call.endpoint, call.body), ctx.clientGone);
        if (vector === undefined) count(model.name, 'semantic_error');
        else {
          indexing = { partition, vector };
          const near = await sem.index.nearest(partition, vector, sem.threshold);
          if (near !== undefined && near.hash !== key.hash) {
            const found = await cache.store.lookup({ ...key, hash: near.hash });
            if (found === undefined) await sem.index.delete(partition, near.hash);
            else if (found.freshness === 'fresh' && (!usage || found.entry.usage)) {
              count(model.name, 'semantic_hit', found.level);
              ctx.res.setHeader('x-spillway-cache-similarity', near.similarity.toFixed(4));
              return serveCached(ctx, found.entry.body, 'hit', usage);
            }
          }
        }
      }
      try {
        await fly(ctx, key, use, usage, indexing);
      } catch (err) {
        if (stale !== undefined && c.staleOnError && upstreamsFailed(err) && !ctx.res.headersSent) {
          count(model.name, 'stale', stale.level);
          return serveCached(ctx, stale.entry.body, 'stale', usage);
        }
        throw err;
      }
    },
  };

  /** Joins the identical request in flight, or starts one; serves this client from it. */
  async function fly(ctx: RequestContext, key: EntryKey, use: CacheUse, usage: boolean, indexing: Indexing | undefined): Promise<void> {
    const model = key.model;
    const id = flightId(key);
    const stream = ctx.call?.stream === true;
    let flight = joinable(id, use, usage);
    let label: 'miss' | 'coalesced' = 'coalesced';
    if (flight === undefined) {
      label = 'miss';
      const f: Flight = new Flight(ctx, usage, downstream, (answer) => store(answer, key, f.store, indexing), (_l, clients) => {
        if (cache.flights.get(id) === f) cache.flights.delete(id);
        metrics.cacheFlightClients.observe(clients);
      });
      flight = f;
      if (use.coalesce) cache.flights.set(id, f);
    }
    if (use.store) flight.store = true;
    count(model, label);
    const live = flight.stream === stream && (!stream || flight.includeUsage === usage);
    const landing = await flight.board({ ctx, live, label });
    if (landing === undefined || ctx.clientGone.aborted) return;
    if (landing.error !== undefined) throw landing.error;
    const answer = landing.answer;
    if (answer !== undefined && (!usage || answer.usage)) return serveCached(ctx, answer.body, 'coalesced', usage);
    throw new SpillwayError('upstream_error', 'The upstream answer this request shared with an identical one failed or was incomplete.');
  }

  /** The flight this request may join: same key, still boarding, and able to give it what it asks for. */
  function joinable(id: string, use: CacheUse, usage: boolean): Flight | undefined {
    const f = use.coalesce ? cache.flights.get(id) : undefined;
    // A stream without usage cannot answer a request that asks for usage: that one asks the upstream itself.
    return f !== undefined && f.boarding && !(usage && f.stream && !f.includeUsage) ? f : undefined;
  }

  /**
   * Called as the shared response ends, before any client sees its end: the memory level is written synchronously
   * here, so a client that asks again at once finds the answer.
   */
  function store(answer: Answer | undefined, key: EntryKey, allowed: boolean, indexing: Indexing | undefined): void {
    if (answer === undefined) {
      metrics.cacheStores.inc({ model: key.model, result: 'incomplete' });
      return;
    }
    if (!allowed) {
      metrics.cacheStores.inc({ model: key.model, result: 'no_store' });
      return;
    }
    // Counted once every level (and the semantic index) has it, so the count also says when it can be found.
    void cache.store.store(key, answer.body, answer.usage).then(async (servableMs) => {
      if (servableMs > 0 && indexing !== undefined) await cache.semantic?.index.add(indexing.partition, key.hash, indexing.vector, servableMs);
      metrics.cacheStores.inc({ model: key.model, result: servableMs > 0 ? 'stored' : 'too_large' });
    });
  }
}

function flightId(k: EntryKey): string {
  return `${k.ns}\u0000${k.model}\u0000${k.hash}`;
}

/** Failures after which a stale answer is better than none: upstreams down, overloaded, limiting or too slow. */
function upstreamsFailed(err: unknown): boolean {
  return err instanceof SpillwayError && (err.status >= 500 || err.code === 'rate_limited' || err.code === 'deadline_unmeetable');
}
