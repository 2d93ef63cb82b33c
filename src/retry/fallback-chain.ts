import type { Config, ModelConfig } from '../config/types.ts';
import type { Lease } from '../balance/lease.ts';
import { SpillwayError } from '../errors.ts';
import type { AdmissionQueue, LeaseMode } from '../queue/admission-queue.ts';
import type { RequestContext } from '../server/context.ts';

/** A lease picked on one link of the chain; the chain moves to that link once the lease is `use`d. */
export interface Picked {
  lease: Lease;
  link: number;
  model: ModelConfig;
}

/**
 * Where one request's attempts may go: its model, then the model's fallbacks, in order. Upstreams that failed the
 * request are avoided, and a link whose routes all failed is passed for the next; upstreams that answered "busy"
 * are passed over while another route has room. A continuation narrows the chain to the model that wrote the
 * beginning of the answer.
 */
export class FallbackChain {
  /** The model and its fallbacks, as configured. */
  readonly models: readonly ModelConfig[];
  private active: readonly ModelConfig[];
  private link = 0;
  private readonly failed = new Set<string>();
  /** Upstreams that answered this request "busy": passed over while another route has room. */
  private readonly pushedBy = new Set<string>();

  /** `only`: the chain as this request may use it, when that differs from the config's (messages-routes.ts). */
  constructor(
    model: ModelConfig,
    models: Config['models'],
    only?: (full: readonly ModelConfig[]) => readonly ModelConfig[],
  ) {
    const full = [model, ...model.fallback.flatMap((n) => models[n] ?? [])];
    this.models = only === undefined ? full : only(full);
    this.active = this.models;
  }

  /** Routes over the whole chain (the pushbacks one request may absorb are counted per route). */
  get routeCount(): number {
    return this.models.reduce((n, m) => n + m.routes.length, 0);
  }

  /** Upstreams that failed this request: a hedge avoids them too. */
  get failedUpstreams(): ReadonlySet<string> {
    return this.failed;
  }

  /** Whether a route other than `upstream`'s and those that already failed is left anywhere on the chain. */
  hasAlternativeTo(upstream: string): boolean {
    return this.models.some((m) => m.routes.some((r) => r.upstream !== upstream && !this.failed.has(r.upstream)));
  }

  failedOn(upstream: string): void {
    this.failed.add(upstream);
  }

  pushedBackBy(upstream: string): void {
    this.pushedBy.add(upstream);
  }

  /** Only `model` serves the rest of this request (a continuation). */
  narrowTo(model: ModelConfig): void {
    this.active = [model];
    this.link = 0;
  }

  /** The picked lease is the one the attempt uses: the chain stays on its link. */
  use(picked: Picked): void {
    this.link = picked.link;
  }

  /**
   * The next lease: the current link while it has a route that has not failed, else the next link. When every
   * link is busy, the request waits in line for its first eligible link (late binding). `tokensLeft`: what a
   * continuation may still produce, which the queue judges its service time by (else the request's own limit).
   */
  async pick(
    ctx: RequestContext,
    queue: AdmissionQueue,
    mode: LeaseMode,
    tokensLeft?: number,
  ): Promise<Picked | { error: SpillwayError }> {
    const chain = this.active;
    let first: number | undefined;
    const avoid = this.pushedBy.size === 0 ? this.failed : new Set([...this.failed, ...this.pushedBy]);
    queue.arrive(mode !== 'new');
    for (let link = this.link; link < chain.length; link++) {
      const m = chain[link] as ModelConfig;
      if (link < chain.length - 1 && m.routes.every((r) => this.failed.has(r.upstream))) continue;
      first ??= link;
      if (queue.depth > 0) break; // others are already waiting: no overtaking them
      try {
        return { lease: queue.acquireNow(m, avoid, ctx), link, model: m };
      } catch (err) {
        if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
      }
    }
    const link = first ?? chain.length - 1;
    const model = chain[link] as ModelConfig;
    try {
      return { lease: await queue.lease(ctx, model, avoid, mode, tokensLeft), link, model };
    } catch (err) {
      if (err instanceof SpillwayError) return { error: err };
      throw err;
    }
  }
}
