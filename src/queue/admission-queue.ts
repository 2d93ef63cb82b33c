import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer, Lease } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import { startStream } from '../relay/relay-sse.ts';
import { WindowCounter } from '../window-counter.ts';
import { Scheduler, expectedWaitMs, type Entry } from './scheduler.ts';

/** Below this much time left, a request cannot be served anyway: it is not queued, or is dropped from the queue. */
const MIN_SERVICE_MS = 50;
/** Leases granted over this window give the service rate the feasibility estimate uses. */
const RATE_WINDOW_MS = 10_000;
/** Safety net: cooling and ejections end on their own, with no release to wake the queue. */
const PUMP_INTERVAL_MS = 200;

interface Waiter {
  ctx: RequestContext;
  model: ModelConfig;
  avoid: ReadonlySet<string>;
  resolve: (lease: Lease) => void;
  reject: (e: SpillwayError) => void;
  enqueuedAt: number;
}

/**
 * Late binding: a request that finds every route at its cap waits here, and is bound to an upstream only when a
 * slot frees (the balancer calls `pump` on every release). The order is the Scheduler's; this file is the glue:
 * feasibility at the door, timers, client aborts, keep-alives for waiting streams, metrics.
 */
export class AdmissionQueue {
  private readonly scheduler: Scheduler<Waiter>;
  private readonly granted = new Map<string, { counter: WindowCounter; since: number }>();
  private readonly config: Config['queue'];
  private readonly balancer: Balancer;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private pumping = false;
  private ticker: NodeJS.Timeout | undefined;

  constructor(config: Config, deps: { balancer: Balancer; clock: Clock; metrics: Metrics }) {
    this.config = config.queue;
    this.balancer = deps.balancer;
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.scheduler = new Scheduler(config.queue.maxSize);
    this.balancer.onRelease = () => this.pump();
  }

  /** A lease on `model` now, or after waiting in line; a refusal comes at once when waiting cannot help. */
  lease(ctx: RequestContext, model: ModelConfig, avoid: ReadonlySet<string>): Promise<Lease> {
    const now = this.clock.now();
    let full: SpillwayError | undefined;
    // With nobody waiting there is no one to overtake: take a free slot if there is one.
    if (this.scheduler.size === 0) {
      try {
        return Promise.resolve(this.grant(model, this.balancer.acquire(model, avoid)));
      } catch (err) {
        if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
        full = err;
      }
    }
    // Waiting helps when slots will free or resting accounts wake up; not when every route is down.
    if (!this.config.enabled || full?.detail === 'down') return Promise.reject(full ?? new SpillwayError('no_capacity', `Every upstream of '${model.name}' is busy.`, { retryAfterS: 1 }));
    const restingMs = full?.detail === 'resting' ? (full.retryAfterS ?? 0) * 1000 : 0;
    const waitMs = Math.max(restingMs, expectedWaitMs(this.scheduler.aheadOf(ctx.priority), this.rate(model.name, now)));
    const until = Math.min(ctx.deadlineAt, now + this.config.maxWaitMs);
    const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000), full?.retryAfterS ?? 1);
    if (now + waitMs + MIN_SERVICE_MS > until) {
      this.metrics.shed.inc({ reason: 'deadline_unmeetable', priority: ctx.priority });
      return Promise.reject(new SpillwayError('deadline_unmeetable', `Every upstream of '${model.name}' is busy and the expected wait (${Math.round(waitMs)} ms) is longer than this request's deadline allows.`, { retryAfterS }));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { ctx, model, avoid, resolve, reject, enqueuedAt: now };
      const entry: Entry<Waiter> = { priority: ctx.priority, tenant: ctx.tenant ?? '', deadlineAt: until, item: waiter };
      const offer = this.scheduler.offer(entry);
      if (!offer.ok) {
        this.metrics.shed.inc({ reason: 'queue_full', priority: ctx.priority });
        reject(new SpillwayError('queue_full', `Every upstream of '${model.name}' is busy and the wait queue is full.`, { retryAfterS }));
        return;
      }
      if (offer.displaced !== undefined) this.drop(offer.displaced, 'displaced', new SpillwayError('queue_full', 'A higher-priority request took this request\'s place in the wait queue.', { retryAfterS }));
      const timer = setTimeout(() => {
        this.drop(entry, 'queue_timeout', new SpillwayError('queue_timeout', `No upstream of '${model.name}' became free before this request's deadline.`, { retryAfterS }));
      }, Math.max(0, until - MIN_SERVICE_MS - now));
      const keepAlive = ctx.call?.stream === true && this.config.streamKeepaliveMs > 0
        ? setInterval(() => {
          startStream(ctx);
          ctx.res.write(': queued\n\n');
        }, this.config.streamKeepaliveMs)
        : undefined;
      const onGone = () => this.drop(entry, 'client_gone', new SpillwayError('queue_timeout', 'The client left while waiting.'));
      ctx.clientGone.addEventListener('abort', onGone, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(keepAlive);
        ctx.clientGone.removeEventListener('abort', onGone);
        this.metrics.queueWait.observe({ priority: ctx.priority }, (this.clock.now() - now) / 1000);
      };
      waiter.resolve = (lease) => {
        cleanup();
        resolve(lease);
      };
      waiter.reject = (e) => {
        cleanup();
        reject(e);
      };
      this.updateDepth();
      this.startTicker();
      this.pump();
    });
  }

  get depth(): number {
    return this.scheduler.size;
  }

  /** Hands freed slots to waiters in the scheduler's order. */
  pump(): void {
    if (this.pumping || this.scheduler.size === 0) return;
    this.pumping = true;
    try {
      const blocked = new Set<ModelConfig>();
      for (const entry of [...this.scheduler.inOrder()]) {
        const w = entry.item;
        if (blocked.has(w.model)) continue;
        let lease: Lease;
        try {
          lease = this.balancer.acquire(w.model, w.avoid);
        } catch {
          blocked.add(w.model);
          continue;
        }
        this.scheduler.served(entry);
        w.resolve(this.grant(w.model, lease));
      }
    } finally {
      this.pumping = false;
      this.updateDepth();
    }
  }

  close(): void {
    clearInterval(this.ticker);
    for (const entry of [...this.scheduler.inOrder()]) this.drop(entry, 'shutdown', new SpillwayError('draining', 'The gateway is shutting down.', { retryAfterS: 1 }));
  }

  private drop(entry: Entry<Waiter>, reason: string, e: SpillwayError): void {
    if (!this.scheduler.remove(entry)) return;
    this.metrics.shed.inc({ reason, priority: entry.priority });
    entry.item.reject(e);
    this.updateDepth();
  }

  private grant(model: ModelConfig, lease: Lease): Lease {
    const now = this.clock.now();
    let g = this.granted.get(model.name);
    if (g === undefined) {
      g = { counter: new WindowCounter(RATE_WINDOW_MS, now), since: now };
      this.granted.set(model.name, g);
    }
    g.counter.add(now);
    return lease;
  }

  /** Leases granted per second for the model over the recent window (or since the first, early on). */
  private rate(model: string, now: number): number {
    const g = this.granted.get(model);
    if (g === undefined) return 0;
    const spanMs = Math.min(RATE_WINDOW_MS, Math.max(1000, now - g.since));
    return g.counter.total(now) / (spanMs / 1000);
  }

  private updateDepth(): void {
    for (const p of ['high', 'normal', 'low'] as const) this.metrics.queueDepth.set({ priority: p }, this.scheduler.sizeOf(p));
    if (this.scheduler.size === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private startTicker(): void {
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => this.pump(), PUMP_INTERVAL_MS);
    this.ticker.unref();
  }
}
