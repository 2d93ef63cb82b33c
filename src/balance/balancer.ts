import type { Clock } from '../clock.ts';
import type { Config, ModelConfig, RouteConfig, UpstreamConfig } from '../config/types.ts';
import { SpillwayError } from '../errors.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { isUpstreamFailure, type Outcome } from '../upstream/outcome.ts';
import { PassiveHealth } from './passive-health.ts';
import { pickRoute, type RouteLoad } from './pick-route.ts';

/** A permit to send one attempt to one upstream. Released exactly once with the attempt's outcome. */
export interface Lease {
  readonly route: RouteConfig;
  readonly upstream: UpstreamConfig;
  release(outcome: Outcome): void;
}

/**
 * The glue around the pure policies: counts requests in flight per upstream (so max_concurrency is never exceeded),
 * feeds outcomes to passive health, and asks pickRoute for a choice.
 */
export class Balancer {
  private readonly upstreams = new Map<string, UpstreamConfig>();
  private readonly inFlight = new Map<string, number>();
  private readonly health: PassiveHealth;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly random: () => number;
  /** An account that answered 429 rests until then (clock ms): rate limited is not broken, it is busy. */
  private readonly coolingUntil = new Map<string, number>();
  private readonly cooldownDefaultMs: number;

  constructor(config: Config, deps: { clock: Clock; metrics: Metrics; log: Logger; random?: () => number }) {
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.random = deps.random ?? Math.random;
    for (const u of config.upstreams) {
      this.upstreams.set(u.name, u);
      this.inFlight.set(u.name, 0);
      this.metrics.upstreamMaxConcurrency.set({ upstream: u.name }, u.maxConcurrency);
      this.metrics.upstreamInFlight.set({ upstream: u.name }, 0);
      this.metrics.upstreamHealthy.set({ upstream: u.name }, 1);
    }
    this.health = new PassiveHealth([...this.upstreams.keys()], config.health);
    this.cooldownDefaultMs = config.retry.cooldownDefaultMs;
  }

  /**
   * A lease on the best route of the model, or a no_capacity error to answer at once (never a wait). Upstreams in
   * `avoid` (those that just failed this request) are passed over while any other route can serve.
   */
  acquire(model: ModelConfig, avoid?: ReadonlySet<string>): Lease {
    const now = this.clock.now();
    const loads: RouteLoad[] = model.routes.map((r) => {
      const u = this.upstream(r.upstream);
      return {
        weight: u.weight * r.weight,
        inFlight: this.inFlight.get(u.name) ?? 0,
        cap: u.maxConcurrency,
        available: this.health.available(u.name, now) && now >= (this.coolingUntil.get(u.name) ?? 0),
      };
    });
    let i = -1;
    if (avoid !== undefined && avoid.size > 0) {
      i = pickRoute(loads.map((l, j) => (avoid.has(model.routes[j]?.upstream ?? '') ? { ...l, available: false } : l)), this.random);
    }
    if (i < 0) i = pickRoute(loads, this.random);
    const route = model.routes[i];
    if (route === undefined) {
      const names = model.routes.map((r) => r.upstream);
      const cooling = Math.min(...names.map((n) => Math.max(0, (this.coolingUntil.get(n) ?? 0) - now)));
      const waitMs = Math.max(this.health.retryInMs(names, now), cooling);
      const allOut = loads.every((l) => !l.available);
      throw new SpillwayError(
        'no_capacity',
        allOut
          ? `No upstream of model '${model.name}' can take a request now (failing, or resting after a rate limit); try again later.`
          : `Every upstream of model '${model.name}' is at its concurrency limit; try again later.`,
        { retryAfterS: allOut ? Math.max(1, Math.ceil(waitMs / 1000)) : 1 },
      );
    }
    const upstream = this.upstream(route.upstream);
    this.health.onSend(upstream.name, now);
    this.adjust(upstream.name, +1);
    let released = false;
    return {
      route,
      upstream,
      release: (outcome: Outcome) => {
        if (released) return;
        released = true;
        this.adjust(upstream.name, -1);
        this.metrics.upstreamAttempts.inc({ upstream: upstream.name, outcome: outcome.kind });
        const t = this.clock.now();
        if (outcome.kind === 'cancelled') {
          // The client left: says nothing about the upstream's health, but frees a half-open probe slot.
          this.health.cancelProbe(upstream.name);
          return;
        }
        if (outcome.kind === 'rate_limited') this.coolingUntil.set(upstream.name, t + (outcome.retryAfterMs ?? this.cooldownDefaultMs));
        const ejected = this.health.record(upstream.name, isUpstreamFailure(outcome), t);
        if (ejected) {
          this.metrics.upstreamEjections.inc({ upstream: upstream.name });
          this.log.warn({ upstream: upstream.name, outcome: outcome.kind }, 'upstream taken out of rotation after repeated failures');
        }
        this.metrics.upstreamHealthy.set({ upstream: upstream.name }, this.health.state(upstream.name, t) === 'ejected' ? 0 : 1);
      },
    };
  }

  inFlightOf(name: string): number {
    return this.inFlight.get(name) ?? 0;
  }

  private adjust(name: string, delta: number): void {
    const v = (this.inFlight.get(name) ?? 0) + delta;
    this.inFlight.set(name, v);
    this.metrics.upstreamInFlight.set({ upstream: name }, v);
  }

  private upstream(name: string): UpstreamConfig {
    const u = this.upstreams.get(name);
    if (u === undefined) throw new Error(`route names unknown upstream ${name}`);
    return u;
  }
}
