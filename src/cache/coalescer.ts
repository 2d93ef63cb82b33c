import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Handler } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { EntryKey } from './cache-entry.ts';
import { flightId, type CacheRequest } from './cache-request.ts';
import { Flight } from './flight.ts';
import type { Answer } from './landed-answer.ts';
import type { ResponseCache } from './response-cache.ts';
import { serveCached } from './serve-cached.ts';
import type { Indexing } from './similar-lookup.ts';

/**
 * Identical requests in flight share one upstream call (a Flight running `downstream`, the rest of the pipeline, on
 * a context of its own), and the answer it lands is stored for the next ones.
 */
export class Coalescer {
  private readonly cache: ResponseCache;
  private readonly metrics: Metrics;
  private readonly downstream: Handler<RequestContext>;

  constructor(cache: ResponseCache, metrics: Metrics, downstream: Handler<RequestContext>) {
    this.cache = cache;
    this.metrics = metrics;
    this.downstream = downstream;
  }

  /** The flight this request may join: same key, still boarding, and able to give it what it asks for. */
  joinable(req: CacheRequest): Flight | undefined {
    const f = req.use.coalesce ? this.cache.flights.get(flightId(req.key)) : undefined;
    // A stream without usage cannot answer a request that asks for usage: that one asks the upstream itself.
    return f !== undefined && f.boarding && !(req.usage && f.stream && !f.includeUsage) ? f : undefined;
  }

  /** Joins the identical request in flight, or starts one; serves this client from it. */
  async fly(ctx: RequestContext, req: CacheRequest, indexing: Indexing | undefined): Promise<void> {
    const { use, usage } = req;
    const stream = ctx.call?.stream === true;
    const joined = this.joinable(req);
    const flight = joined ?? this.launch(ctx, req, indexing);
    const label = joined === undefined ? 'miss' : 'coalesced';
    if (use.store) flight.store = true;
    this.metrics.cacheLookups.inc({ model: req.model, result: label, level: '' });
    const live = flight.stream === stream && (!stream || flight.includeUsage === usage);
    const landing = await flight.board({ ctx, live, label });
    if (landing === undefined || ctx.clientGone.aborted) return;
    if (landing.error !== undefined) throw landing.error;
    const answer = landing.answer;
    if (answer !== undefined && (!usage || answer.usage)) return serveCached(ctx, answer.body, 'coalesced', req);
    throw new SpillwayError(
      'upstream_error',
      'The upstream answer this request shared with an identical one failed or was incomplete.',
    );
  }

  /** A new flight for this request, open to identical ones while it boards when coalescing is allowed. */
  private launch(ctx: RequestContext, req: CacheRequest, indexing: Indexing | undefined): Flight {
    const id = flightId(req.key);
    const f: Flight = new Flight(
      ctx,
      req,
      this.downstream,
      (answer) => this.keep(answer, req.key, f.store, indexing),
      (_l, clients) => {
        if (this.cache.flights.get(id) === f) this.cache.flights.delete(id);
        this.metrics.cacheFlightClients.observe(clients);
      },
    );
    if (req.use.coalesce) this.cache.flights.set(id, f);
    return f;
  }

  /**
   * Called as the shared response ends, before any client sees its end: the memory level is written synchronously
   * here, so a client that asks again at once finds the answer.
   */
  private keep(answer: Answer | undefined, key: EntryKey, allowed: boolean, indexing: Indexing | undefined): void {
    const stores = this.metrics.cacheStores;
    if (answer === undefined) return stores.inc({ model: key.model, result: 'incomplete' });
    if (!allowed) return stores.inc({ model: key.model, result: 'no_store' });
    // Counted once every level (and the semantic index) has it, so the count also says when it can be found.
    void this.cache.store.store(key, answer.body, answer.usage).then(async (servableMs) => {
      if (servableMs > 0 && indexing !== undefined)
        await this.cache.semantic?.index.add(indexing.partition, key.hash, indexing.vector, servableMs);
      stores.inc({ model: key.model, result: servableMs > 0 ? 'stored' : 'too_large' });
    });
  }
}
