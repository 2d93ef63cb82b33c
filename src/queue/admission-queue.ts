import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer, Lease } from '../balance/balancer.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import { startStream } from '../relay/relay-sse.ts';
import { PRIORITIES, Scheduler, type Entry } from './scheduler.ts';
import { ServiceRates } from './service-rates.ts';

/** Below this much time left, a request cannot be served anyway (also the service time before any is measured). */
const MIN_SERVICE_MS = 50;
/** Arrivals over this window give the current rates of the classes; 12× longer, their long-run rates. */
const RATE_WINDOW_MS = 5_000;
/** Safety net: cooling and ejections end on their own, with no release to wake the queue. */
const PUMP_INTERVAL_MS = 200;
/** A queue empty for less than this has not ended its busy period (it empties between two grants in an overload). */
const BUSY_GAP_MS = 1_000;

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
  private readonly rates: ServiceRates;
  private readonly config: Config['queue'];
  private readonly balancer: Balancer;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private pumping = false;
  private ticker: NodeJS.Timeout | undefined;
  /** Leases granted and not yet released: with the service time, the queue's drain rate. */
  private held = 0;
  /** Since when the queue has been empty (undefined while someone waits). */
  private emptySince: number | undefined;

  constructor(config: Config, deps: { balancer: Balancer; clock: Clock; metrics: Metrics }) {
    this.config = config.queue;
    this.balancer = deps.balancer;
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.scheduler = new Scheduler(config.queue.maxSize);
    this.rates = new ServiceRates(RATE_WINDOW_MS, this.clock.now());
    this.balancer.onRelease = () => this.pump();
  }

  /**
   * A lease on `model` now, or after waiting in line; a refusal comes at once when waiting cannot help. A `retry`
   * (a failover or a continuation of a stream the client is already reading) waits in the high class: it was
   * admitted once, and the work already spent on it is lost if it waits behind new arrivals. It is not a new
   * arrival for the demand estimate either.
   */
  lease(ctx: RequestContext, model: ModelConfig, avoid: ReadonlySet<string>, retry = false): Promise<Lease> {
    const now = this.clock.now();
    // A background job's retry stays background: its work is never worth an interactive request's slot.
    const priority = retry && ctx.priority !== 'background' ? 'high' : ctx.priority;
    let full: SpillwayError | undefined;
    // With nobody waiting there is no one to overtake: take a free slot if there is one (waiting background work
    // is overtaken by anyone).
    if (this.depth === 0) {
      try {
        return Promise.resolve(this.grant(this.balancer.acquire(model, avoid)));
      } catch (err) {
        if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
        full = err;
      }
    }
    // Waiting helps when slots will free or resting accounts wake up; not when every route is down.
    if (!this.config.enabled || full?.detail === 'down') return Promise.reject(full ?? new SpillwayError('no_capacity', `Every upstream of '${model.name}' is busy.`, { retryAfterS: 1 }));
    const restingMs = full?.detail === 'resting' ? (full.retryAfterS ?? 0) * 1000 : 0;
    const waitMs = Math.max(restingMs, this.rates.waitMs(priority, this.scheduler.aheadOf(priority), now, this.config.surgeFactor, this.config.burstAllowanceMs));
    const until = Math.min(ctx.deadlineAt, now + this.config.maxWaitMs);
    const retryAfterS = retryAfter(waitMs, full?.retryAfterS);
    if (now + waitMs + this.serviceMs() > until) {
      this.metrics.shed.inc({ reason: 'deadline_unmeetable', priority });
      return Promise.reject(unmeetable(model, waitMs, retryAfterS));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = { ctx, model, avoid, resolve, reject, enqueuedAt: now };
      const entry: Entry<Waiter> = { priority, tenant: ctx.tenant ?? '', deadlineAt: until, item: waiter };
      const offer = this.scheduler.offer(entry);
      if (!offer.ok) {
        this.metrics.shed.inc({ reason: 'queue_full', priority });
        reject(new SpillwayError('queue_full', `Every upstream of '${model.name}' is busy and the wait queue is full.`, { retryAfterS }));
        return;
      }
      if (offer.displaced !== undefined) this.drop(offer.displaced, 'displaced', new SpillwayError('queue_full', 'A higher-priority request took this request\'s place in the wait queue.', { retryAfterS }));
      const timer = setTimeout(() => {
        this.drop(entry, 'queue_timeout', new SpillwayError('queue_timeout', `No upstream of '${model.name}' became free before this request's deadline.`, { retryAfterS }));
      }, Math.max(0, until - this.serviceMs() - now));
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
        this.metrics.queueWait.observe({ priority }, (this.clock.now() - now) / 1000);
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

  /**
   * A request starts looking for a slot (retries are not new demand). Counted here, not in `lease`, because most
   * requests never wait: the demand estimate must see them all, or a surge looks like it came from nowhere.
   */
  arrive(ctx: RequestContext, retry: boolean): void {
    if (!retry) this.rates.arrival(ctx.priority, this.clock.now());
  }

  /** A slot on `model` now, without waiting (throws `no_capacity`); held and timed like every lease. */
  acquireNow(model: ModelConfig, avoid: ReadonlySet<string>): Lease {
    return this.grant(this.balancer.acquire(model, avoid));
  }

  /** Interactive requests waiting (background job items are not "others waiting" for anyone: all may overtake them). */
  /** Leases granted through this queue (waiting or not) and not yet released. */
  get heldLeases(): number {
    return this.held;
  }

  get depth(): number {
    return this.scheduler.size - this.scheduler.sizeOf('background');
  }

  /** Requests waiting, by priority class (the dashboard, the admin API). */
  depthByPriority(): Record<'high' | 'normal' | 'low', number> {
    return { high: this.scheduler.sizeOf('high'), normal: this.scheduler.sizeOf('normal'), low: this.scheduler.sizeOf('low') };
  }

  /** Hands freed slots to waiters in the scheduler's order. */
  pump(): void {
    if (this.pumping || this.scheduler.size === 0) return;
    this.pumping = true;
    try {
      const blocked = new Set<ModelConfig>();
      for (const entry of [...this.scheduler.inOrder()]) {
        const w = entry.item;
        // Background work never takes a slot while an interactive request still waits (for any model).
        if (entry.priority === 'background' && blocked.size > 0) break;
        if (blocked.has(w.model)) continue;
        let lease: Lease;
        try {
          lease = this.balancer.acquire(w.model, w.avoid);
        } catch {
          blocked.add(w.model);
          continue;
        }
        this.scheduler.served(entry);
        w.resolve(this.grant(lease));
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

  /**
   * Counts the lease while it is held and times it, so the queue learns its drain rate and the service time. The
   * lease's own `release` is wrapped in place: `rest` (an account gate's refusal) releases through it too.
   */
  private grant(lease: Lease): Lease {
    const start = this.clock.now();
    this.rates.holding(++this.held, start);
    const release = lease.release;
    let released = false;
    lease.release = (outcome, firstTokenMs) => {
      if (!released) {
        released = true;
        const now = this.clock.now();
        this.rates.holding(--this.held, now);
        if (outcome.kind === 'ok') this.rates.served(now - start, now);
      }
      release(outcome, firstTokenMs);
    };
    return lease;
  }

  private serviceMs(): number {
    return Math.max(MIN_SERVICE_MS, this.rates.serviceMs(this.clock.now()));
  }

  /**
   * Drops, at once and honestly, every waiting request that can no longer be served in time from where it stands
   * (higher classes keep arriving ahead of it), instead of letting it wait for its deadline. A request already
   * admitted was promised a place, so it is dropped only when hopeless by a margin (`queue.recheck_margin`) wider
   * than the estimate's noise. The estimate is the door's, surge and all: a request admitted on the hope that a
   * young surge ends soon learns, as the surge ages, that it will not, and is told then rather than seconds later
   * (assuming at every check that the surge ends now kept it waiting until its deadline was almost gone).
   */
  private reevaluate(): void {
    const now = this.clock.now();
    const service = this.serviceMs();
    let k = 0;
    for (const entry of [...this.scheduler.inOrder()]) {
      const waitMs = this.rates.waitMs(entry.priority, k, now, this.config.surgeFactor, this.config.burstAllowanceMs);
      if (waitMs + service > this.config.recheckMargin * (entry.deadlineAt - now)) {
        this.drop(entry, 'deadline_unmeetable', unmeetable(entry.item.model, waitMs, retryAfter(waitMs, undefined)));
      } else {
        k++;
      }
    }
  }

  private updateDepth(): void {
    const now = this.clock.now();
    // A busy period (a surge) begins when requests start to wait, and ends only once nobody has waited for a while.
    // Background job items waiting are not a surge of demand.
    if (this.depth > 0) {
      if (this.emptySince !== undefined && now - this.emptySince >= BUSY_GAP_MS) this.rates.endSurge();
      if (!this.rates.surging) this.rates.beginSurge(now);
      this.emptySince = undefined;
    } else {
      this.emptySince ??= now;
    }
    for (const p of PRIORITIES) this.metrics.queueDepth.set({ priority: p }, this.scheduler.sizeOf(p));
    if (this.scheduler.size === 0 && this.ticker !== undefined) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private startTicker(): void {
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => {
      this.pump();
      this.reevaluate();
    }, PUMP_INTERVAL_MS);
    this.ticker.unref();
  }
}

function retryAfter(waitMs: number, atLeastS: number | undefined): number {
  // An infinite wait (a starved class) still gets a finite, honest hint: try again in a while.
  const s = Number.isFinite(waitMs) ? Math.ceil(waitMs / 1000) : 30;
  return Math.max(1, s, atLeastS ?? 1);
}

function unmeetable(model: ModelConfig, waitMs: number, retryAfterS: number): SpillwayError {
  const wait = Number.isFinite(waitMs) ? `expected wait (${Math.round(waitMs)} ms)` : 'expected wait (higher-priority traffic takes every slot)';
  return new SpillwayError('deadline_unmeetable', `Every upstream of '${model.name}' is busy and the ${wait} is longer than this request's deadline allows.`, { retryAfterS });
}
