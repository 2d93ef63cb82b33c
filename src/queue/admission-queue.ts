import type { Clock } from '../clock.ts';
import type { Config, ModelConfig } from '../config/types.ts';
import type { Balancer } from '../balance/balancer.ts';
import type { Lease } from '../balance/lease.ts';
import { SpillwayError } from '../errors.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import { PRIORITIES, type Priority } from '../priority.ts';
import { Scheduler, type Entry } from './scheduler.ts';
import { ServiceRates } from './service-rates.ts';
import { ServiceByLength } from './service-by-length.ts';
import { Overrun } from './overrun.ts';
import { KeptPlaces } from './kept-places.ts';
import { maxTokensOf } from '../api/parse-call.ts';
import { promptTokensOf } from '../admission/estimate-tokens.ts';
import { admit, CLASS_HEADROOM, recheck, type Pace } from './deadline-plan.ts';
import { sdkRetryCount } from '../server/deadline.ts';

/** Below this much time left, a request cannot be served anyway (also the service time before any is measured). */
const MIN_SERVICE_MS = 50;
/** The window over which the service time, the drain rate and the arrival rate are measured. */
const RATE_WINDOW_MS = 5_000;
/** The window of answers that tell how hold times follow length limits (the drain rate's long window). */
const LENGTH_WINDOW_MS = 20_000;
/** Share of its deadline a waiting request keeps as slack that higher classes going first may not take. */
const RESERVE = 0.05;
/**
 * Longest room a high request keeps, as a share of its wait: past it, the lower classes would pay more for high's
 * room (it is their headroom) than a retry at the edge is worth.
 */
const ROOM_SHARE = 0.1;
/** A wait's timer that finds its request still has this long (ms) before its last start is set again, else it fires. */
const REARM_MIN_MS = 10;
/** Longest Retry-After a refusal advises (s): beyond it the estimate says nothing worth waiting for. */
const MAX_RETRY_AFTER_S = 60;
/**
 * Retries the official OpenAI SDKs make by default (`max_retries` 2): a client whose `x-stainless-retry-count` is
 * below it will be back at the Retry-After it is given.
 */
const SDK_MAX_RETRIES = 2;
/** Safety net: rests and ejections end on their own, with no release to wake the queue. */
const PUMP_INTERVAL_MS = 200;

/**
 * Keeps a waiting client's connection alive, every `everyMs`, until the returned stop: the bytes are the relay's
 * business (relay/queued-keepalive.ts), so the queue never writes to a client socket itself.
 */
export type KeepAlive = (ctx: RequestContext, everyMs: number) => () => void;

/** How a request comes to the queue: new, a retry after a failure (waits as high), or back after pushback. */
export type LeaseMode = 'new' | 'retry' | 'pushback';

/** A newcomer the door let in: its entry, the lower work it displaces, and the Retry-After any refusal then gives. */
interface Admitted {
  entry: Entry<Waiter>;
  displace: Entry<Waiter>[];
  until: number;
  retryAfterS: number;
}

interface Waiter {
  ctx: RequestContext;
  model: ModelConfig;
  avoid: ReadonlySet<string>;
  resolve: (lease: Lease) => void;
  reject: (e: SpillwayError) => void;
}

/**
 * Late binding: a request that finds every route at its cap waits here, and is bound to an upstream only when a
 * slot frees (the balancer calls `pump` on every release). The order is the Scheduler's; this file is the glue:
 * feasibility at the door, timers, client aborts, keep-alives for waiting streams, metrics.
 */
export class AdmissionQueue {
  private readonly scheduler: Scheduler<Waiter>;
  private readonly rates: ServiceRates;
  private readonly lengths: ServiceByLength;
  private readonly config: Config['queue'];
  private readonly balancer: Balancer;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private readonly keepAlive: KeepAlive;
  private pumping = false;
  private ticker: NodeJS.Timeout | undefined;
  /** Waiting entries per model: when every one of them is full, a pump can stop early. */
  private readonly waitingModels = new Map<ModelConfig, number>();
  /**
   * Requests the door has let in. One that comes back as new — its lease handed back unused because the account's
   * fleet-wide cap was full when asked (account-gate.ts: another instance holds the slots) — is a pushback, not a
   * newcomer: tested again, it was refused seconds after admission, behind the work admitted since (late
   * refusals; `overload --instances 3` on a loaded machine: 22–92 of them in 3 runs of 20).
   */
  private readonly letIn = new WeakSet<RequestContext>();
  /** Leases granted and not yet released: with the service time, the queue's drain rate. */
  private held = 0;
  /** How much longer than expected requests hold the fleet: the room high keeps. */
  private readonly overrun = new Overrun();
  /** Places kept for clients coming back at the Retry-After they were given. */
  private readonly kept: KeptPlaces;
  /** Requests granted a slot and not answered yet: what was expected of each, and what its attempts held so far. */
  private readonly granted = new WeakMap<RequestContext, { expectedMs: number; heldMs: number }>();

  constructor(config: Config, deps: { balancer: Balancer; clock: Clock; metrics: Metrics; keepAlive: KeepAlive }) {
    this.config = config.queue;
    this.balancer = deps.balancer;
    this.clock = deps.clock;
    this.metrics = deps.metrics;
    this.keepAlive = deps.keepAlive;
    this.scheduler = new Scheduler(config.queue.maxSize);
    this.kept = new KeptPlaces((priority) => this.metrics.placesKept.inc({ priority, result: 'lapsed' }));
    this.rates = new ServiceRates(RATE_WINDOW_MS, this.clock.now());
    this.lengths = new ServiceByLength(LENGTH_WINDOW_MS, this.clock.now());
    this.balancer.onRelease = () => this.pump();
  }

  /**
   * A lease on `model` now, or after waiting in line; a refusal comes at once when waiting cannot help. A `retry`
   * (a failover or a continuation of a stream the client is already reading) waits in the high class: it was
   * admitted once, and the work already spent on it is lost if it waits behind new arrivals. A `pushback` (an
   * upstream answered busy) comes back to its place, untested: it was admitted, and the upstream's "busy" is ours
   * to absorb while its deadline allows; so does a request the door let in before and that asks again as new.
   * `maxTokens`: the length limit of what this lease must still produce (a continuation's is what the answer has
   * left; undefined: the request's own), which its service time follows.
   */
  lease(
    ctx: RequestContext,
    model: ModelConfig,
    avoid: ReadonlySet<string>,
    mode: LeaseMode = 'new',
    maxTokens = requestMaxTokens(ctx),
  ): Promise<Lease> {
    const now = this.clock.now();
    if (mode === 'new' && this.letIn.has(ctx)) mode = 'pushback';
    // A background job's retry stays background: its work is never worth an interactive request's slot.
    const priority = mode === 'retry' && ctx.priority !== 'background' ? 'high' : ctx.priority;
    let full: SpillwayError | undefined;
    // With nobody waiting there is no one to overtake: take a free slot if there is one (waiting background work
    // is overtaken by anyone).
    if (this.depth === 0) {
      try {
        return Promise.resolve(this.grant(this.balancer.acquire(model, avoid), ctx));
      } catch (err) {
        if (!(err instanceof SpillwayError) || err.code !== 'no_capacity') throw err;
        full = err;
      }
    }
    // Waiting helps when slots will free or resting accounts wake up; not when every route is down. Routes out of
    // rotation by passive health are probed again soon (1 s at first): a request already admitted — a failover, a
    // continuation of a stream its client is reading — waits for that when its deadline allows, rather than lose
    // the work spent on it; a newcomer to a fleet out of rotation is refused at once, with the probe time to retry.
    if (
      !this.config.enabled ||
      full?.detail === 'down' ||
      (full?.detail === 'ejected' && !this.mayAwaitProbe(ctx, mode, full, now))
    )
      return Promise.reject(
        full ?? new SpillwayError('no_capacity', `Every upstream of '${model.name}' is busy.`, { retryAfterS: 1 }),
      );
    const admitted = this.door({ ctx, model, priority, mode, now, full, maxTokens });
    if (admitted instanceof SpillwayError) return Promise.reject(admitted);
    return new Promise<Lease>((resolve, reject) => this.wait({ ctx, model, avoid, resolve, reject }, admitted, now));
  }

  /**
   * The door: the newcomer's place in deadline order, or the refusal it gets at once — it cannot finish in time
   * behind the work ahead (with its class's headroom), accounts rest past its deadline, or the queue is nearly full
   * for its class. A pushback comes back to its place untested: it was admitted, and the upstream's "busy" is ours.
   */
  private door(a: {
    ctx: RequestContext;
    model: ModelConfig;
    priority: Priority;
    mode: LeaseMode;
    now: number;
    full: SpillwayError | undefined;
    maxTokens: number | undefined;
  }): Admitted | SpillwayError {
    const { ctx, model, priority, mode, now, full } = a;
    const until = Math.min(ctx.deadlineAt, now + this.config.maxWaitMs);
    const pace = this.pace(now);
    const restingMs = full?.detail === 'resting' || full?.detail === 'ejected' ? (full.retryAfterS ?? 0) * 1000 : 0;
    const promised = this.claimPlace(ctx, priority, mode, now);
    const headroom = headroomShare(priority, ctx);
    const entry: Entry<Waiter> = {
      priority,
      tenant: ctx.tenant ?? '',
      deadlineAt: until,
      orderAt: until - this.roomMs(priority, until, now),
      reserveMs: RESERVE * (until - now),
      promised,
      admitted: mode === 'retry',
      lengthFactor: this.lengths.factor(a.maxTokens, now, requestPromptTokens(ctx)),
      item: undefined as unknown as Waiter,
    };
    // A newcomer with headroom also leaves clear the places kept for returns of its class and above.
    const newcomer = { ...entry, returnWork: headroom > 0 ? this.kept.workFor(priority, now) : 0 };
    // Only the re-check can still drop a pushback, as it can any waiting request.
    const verdict =
      mode === 'pushback'
        ? { ok: true as const, displace: [] }
        : admit(this.scheduler.byDeadline, newcomer, pace, headroom);
    // Accounts resting (a Retry-After) past the deadline cannot serve it, whoever it is.
    const overMs = verdict.ok ? now + restingMs + pace.serviceMs * (entry.lengthFactor ?? 1) - until : verdict.overMs;
    if (!verdict.ok || overMs > 0) {
      this.metrics.shed.inc({ reason: 'deadline_unmeetable', priority });
      const refusal = unmeetable(model, overMs, this.retryAfterS(overMs, pace, full?.retryAfterS));
      return this.keepPlace(ctx, refusal, entry, now);
    }
    if (mode !== 'pushback' && this.nearlyFull(priority))
      return this.keepPlace(ctx, this.nearlyFullRefusal(model, priority, pace, full), entry, now);
    this.letIn.add(ctx);
    return {
      entry,
      displace: verdict.displace,
      until,
      retryAfterS: this.retryAfterS(pace.slotMs, pace, full?.retryAfterS),
    };
  }

  /**
   * The room a high request keeps (ms): it waits in order as if its deadline came that much earlier, so that in a
   * saturated queue — where everyone else starts at the edge of their deadline — it starts with time for what the
   * fleet's requests overrun their expected service by (a failure caught and tried again, a stream continued, an
   * answer longer than its limit said: `Overrun`). Judged by its own deadline all the same; the lower classes' door
   * counts the high work that will go ahead of them so (deadline-plan.ts `overtakingWork`). A clean fleet shows no
   * overrun, and high keeps no room there.
   */
  private roomMs(priority: Priority, until: number, now: number): number {
    return priority === 'high' ? Math.min(this.overrun.roomMs(now), ROOM_SHARE * (until - now)) : 0;
  }

  /** A client back at our Retry-After claims the place kept for it (kept-places.ts); true when it is one. */
  private claimPlace(ctx: RequestContext, priority: Priority, mode: LeaseMode, now: number): boolean {
    if (!isClientRetry(ctx)) return false;
    if (mode === 'new' && this.kept.claim(priority, now)) this.metrics.placesKept.inc({ priority, result: 'claimed' });
    return true;
  }

  /**
   * A refusal of a client that will retry at the Retry-After it gives (an SDK with retries left) keeps that
   * client's place for its return (kept-places.ts). Returns the refusal.
   */
  private keepPlace(ctx: RequestContext, e: SpillwayError, entry: Entry<Waiter>, now: number): SpillwayError {
    if (ctx.priority !== 'background' && willRetry(ctx)) {
      if (this.kept.keep(ctx.priority, now + (e.retryAfterS ?? 1) * 1000, entry.lengthFactor ?? 1, now))
        this.metrics.placesKept.inc({ priority: ctx.priority, result: 'kept' });
    }
    return e;
  }

  /** The refusal of a newcomer whose class stops short of a full queue (`nearlyFull`). */
  private nearlyFullRefusal(model: ModelConfig, priority: Priority, pace: Pace, full: SpillwayError | undefined) {
    this.metrics.shed.inc({ reason: 'queue_full', priority });
    const retryAfterS = this.retryAfterS(
      pace.slotMs * this.scheduler.size * CLASS_HEADROOM[priority],
      pace,
      full?.retryAfterS,
    );
    return new SpillwayError(
      'queue_full',
      `Every upstream of '${model.name}' is busy and the wait queue is nearly full.`,
      {
        retryAfterS,
      },
    );
  }

  /** Whether an admitted request (a retry) has time to wait for an ejected route's probe (`full.retryAfterS`). */
  private mayAwaitProbe(ctx: RequestContext, mode: LeaseMode, full: SpillwayError, now: number): boolean {
    return mode === 'retry' && now + (full.retryAfterS ?? 1) * 1000 < ctx.deadlineAt;
  }

  /**
   * The same headroom in places: a lower class stops short of a full queue, so a higher one never has to displace
   * it to get in.
   */
  private nearlyFull(priority: Priority): boolean {
    return priority !== 'high' && this.scheduler.size >= (1 - CLASS_HEADROOM[priority]) * this.config.maxSize;
  }

  /** An admitted request waits in its place: until a slot frees for it, its deadline, or its client leaves. */
  private wait(waiter: Waiter, a: Admitted, now: number): void {
    const { model } = waiter;
    const { entry, retryAfterS } = a;
    entry.item = waiter;
    for (const victim of a.displace) this.drop(victim, 'displaced', displaced(retryAfterS));
    const offer = this.scheduler.offer(entry);
    if (!offer.ok) {
      this.metrics.shed.inc({ reason: 'queue_full', priority: entry.priority });
      waiter.reject(
        new SpillwayError('queue_full', `Every upstream of '${model.name}' is busy and the wait queue is full.`, {
          retryAfterS,
        }),
      );
      return;
    }
    this.waitingModels.set(model, (this.waitingModels.get(model) ?? 0) + 1);
    if (offer.displaced !== undefined) this.drop(offer.displaced, 'displaced', displaced(retryAfterS));
    this.watch(waiter, entry, a.until, now, retryAfterS);
    this.updateDepth();
    this.startTicker();
    this.pump();
  }

  /**
   * What ends a wait other than a slot: its deadline (less the service time it still needs) and its client leaving;
   * meanwhile a stream is kept alive. All of it is undone when the wait ends, however it ends.
   */
  private watch(waiter: Waiter, entry: Entry<Waiter>, until: number, now: number, retryAfterS: number): void {
    const { ctx, model } = waiter;
    const late = new SpillwayError(
      'queue_timeout',
      `No upstream of '${model.name}' became free before this request's deadline.`,
      { retryAfterS },
    );
    // The last moment it can start and still finish in time, on the service time measured when asked: the one read
    // at admission can be long gone (hold times inflated while a queueing upstream held our requests, then back to
    // its pace), and a timer armed on it gave up on requests a moment before their turn (`deepseek-like-caps-unknown`:
    // a low request dropped at 26.5 s of 29.4, where the service time then measured left it until 28.2).
    const lastStart = () => until - this.serviceMs() * (entry.lengthFactor ?? 1);
    let timer: ReturnType<typeof setTimeout>;
    const arm = (from: number) => {
      timer = setTimeout(
        () => {
          const at = this.clock.now();
          if (lastStart() - at > REARM_MIN_MS) arm(at);
          else this.drop(entry, 'queue_timeout', late);
        },
        Math.max(0, lastStart() - from),
      );
    };
    arm(now);
    const stopKeepAlive = this.keepAlive(ctx, this.config.streamKeepaliveMs);
    const onGone = () =>
      this.drop(entry, 'client_gone', new SpillwayError('queue_timeout', 'The client left while waiting.'));
    ctx.clientGone.addEventListener('abort', onGone, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      stopKeepAlive();
      ctx.clientGone.removeEventListener('abort', onGone);
      this.metrics.queueWait.observe({ priority: entry.priority }, (this.clock.now() - now) / 1000);
    };
    const { resolve, reject } = waiter;
    waiter.resolve = (lease) => {
      cleanup();
      resolve(lease);
    };
    waiter.reject = (e) => {
      cleanup();
      reject(e);
    };
  }

  /**
   * A request starts looking for a slot (retries are not new demand). Counted here, not in `lease`, because most
   * requests never wait: the demand estimate must see them all, or a surge looks like it came from nowhere.
   */
  arrive(retry: boolean): void {
    if (!retry) this.rates.arrival(this.clock.now());
  }

  /** A slot on `model` now, without waiting (throws `no_capacity`); held and timed like every lease. */
  acquireNow(model: ModelConfig, avoid: ReadonlySet<string>, ctx?: RequestContext): Lease {
    return this.grant(this.balancer.acquire(model, avoid), ctx);
  }

  /** Leases granted through this queue (waiting or not) and not yet released. */
  get heldLeases(): number {
    return this.held;
  }

  /** Interactive requests waiting (background job items are not "others waiting" for anyone: all may overtake them). */
  get depth(): number {
    return this.scheduler.size - this.scheduler.sizeOf('background');
  }

  /** Requests waiting, by priority class (the dashboard, the admin API). */
  depthByPriority(): Record<'high' | 'normal' | 'low', number> {
    return {
      high: this.scheduler.sizeOf('high'),
      normal: this.scheduler.sizeOf('normal'),
      low: this.scheduler.sizeOf('low'),
    };
  }

  /** Hands freed slots to waiters in the scheduler's order. */
  pump(): void {
    if (this.pumping || this.scheduler.size === 0) return;
    this.pumping = true;
    try {
      const blocked = new Set<ModelConfig>();
      const grants: [Entry<Waiter>, Lease][] = [];
      const now = this.clock.now();
      for (const entry of this.scheduler.inOrder(this.pace(now))) {
        const w = entry.item;
        // Background work never takes a slot while an interactive request still waits (for any model).
        if (entry.priority === 'background' && blocked.size > 0) break;
        if (blocked.has(w.model)) continue;
        try {
          grants.push([entry, this.balancer.acquire(w.model, w.avoid, entry.deadlineAt - now)]);
        } catch (err) {
          // Only slower upstreams are free: the next request may fit them; this one waits for a faster slot.
          if (err instanceof SpillwayError && err.detail === 'too_slow') continue;
          blocked.add(w.model);
          // Every model that has waiters is full: nobody further down can be served either.
          if (blocked.size === this.waitingModels.size) break;
        }
      }
      for (const [entry, lease] of grants) {
        this.scheduler.served(entry);
        this.left(entry);
        entry.item.resolve(this.grant(lease, entry.item.ctx));
      }
    } finally {
      this.pumping = false;
      this.updateDepth();
    }
  }

  close(): void {
    clearInterval(this.ticker);
    for (const entry of [...this.scheduler.inOrder()])
      this.drop(entry, 'shutdown', new SpillwayError('draining', 'The gateway is shutting down.', { retryAfterS: 1 }));
  }

  private drop(entry: Entry<Waiter>, reason: string, e: SpillwayError): void {
    if (!this.scheduler.remove(entry)) return;
    this.left(entry);
    this.metrics.shed.inc({ reason, priority: entry.priority });
    // Told to come back while its deadline still had time (a client at its deadline retries when its own timeout
    // fires, not at our Retry-After).
    if (reason === 'displaced' || reason === 'deadline_unmeetable')
      this.keepPlace(entry.item.ctx, e, entry, this.clock.now());
    entry.item.reject(e);
    this.updateDepth();
  }

  /**
   * Counts the lease while it is held and times it, so the queue learns its drain rate, the service time and how
   * that follows length limits. Its listener runs before the balancer frees the slot and pumps, so a waiter granted
   * that slot is counted after it.
   */
  private grant(lease: Lease, ctx: RequestContext | undefined): Lease {
    const start = this.clock.now();
    this.rates.holding(++this.held, start);
    const request = ctx === undefined ? undefined : this.request(ctx, start);
    lease.onRelease(({ outcome }) => {
      const now = this.clock.now();
      this.rates.holding(--this.held, now);
      if (request !== undefined) {
        request.heldMs += now - start;
        if (outcome.kind === 'ok' && ctx !== undefined && this.granted.delete(ctx))
          this.overrun.add(request.heldMs, request.expectedMs, now);
      }
      if (outcome.kind !== 'ok') return;
      this.rates.served(now - start, now, lease.upstream.name);
      this.lengths.add(requestMaxTokens(ctx), now - start, now, requestPromptTokens(ctx));
    });
    return lease;
  }

  /**
   * What its first slot expected of a request, and what its attempts held so far (a failover or a continuation adds
   * to it): its answer tells the overrun.
   */
  private request(ctx: RequestContext, now: number): { expectedMs: number; heldMs: number } | undefined {
    const known = this.granted.get(ctx);
    if (known !== undefined) return known;
    const serviceMs = this.rates.serviceMs(now);
    // Before any answer is measured nothing was expected of it: the first answers would all read as overruns.
    if (serviceMs <= 0) return undefined;
    const factor = this.lengths.factor(requestMaxTokens(ctx), now, requestPromptTokens(ctx));
    const r = { expectedMs: atLeastMinService(serviceMs) * factor, heldMs: 0 };
    this.granted.set(ctx, r);
    return r;
  }

  /** An entry left the queue (served or dropped). */
  private left(entry: Entry<Waiter>): void {
    const n = (this.waitingModels.get(entry.item.model) ?? 1) - 1;
    if (n <= 0) this.waitingModels.delete(entry.item.model);
    else this.waitingModels.set(entry.item.model, n);
  }

  private serviceMs(): number {
    return atLeastMinService(this.rates.serviceMs(this.clock.now()));
  }

  /** Where the queue stands now: the drain rate's slot time and the service time (deadline-plan.ts). */
  private pace(now: number): Pace {
    this.rates.outOfRotation(this.balancer.outOfRotation(now), now);
    return { now, serviceMs: this.serviceMs(), ...this.rates.drain(now), overLimit: this.balancer.overLimit(now) };
  }

  /**
   * When trying again is worth it (s): the time the backlog needs to shrink by `overMs`, at the drain rate less the
   * demand that keeps arriving (at least a quarter of it, so that an overload still gets a finite, honest hint).
   */
  private retryAfterS(overMs: number, pace: Pace, atLeastS: number | undefined): number {
    const busy = pace.slotMs <= 0 ? 0 : Math.min(0.75, (this.rates.arrivalRate(pace.now) * pace.slotMs) / 1000);
    const s = Math.ceil(Math.max(0, overMs) / (1 - busy) / 1000);
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, s, atLeastS ?? 1));
  }

  /**
   * Drops, at once and honestly, the waiting requests that can no longer finish in time where they stand (the drain
   * rate fell: an upstream failed, a learned limit came down), instead of letting them wait for their deadline.
   * Only hopeless by `queue.recheck_margin`, wider than the estimate's noise, counts: each drop is a late refusal.
   */
  private reevaluate(): void {
    const pace = this.pace(this.clock.now());
    const retryAfterS = this.retryAfterS(pace.slotMs, pace, undefined);
    for (const { entry, reason } of recheck(this.scheduler.byDeadline, pace, this.config.recheckMargin)) {
      this.drop(
        entry,
        reason,
        reason === 'displaced'
          ? displaced(retryAfterS)
          : unmeetable(entry.item.model, entry.deadlineAt - pace.now, retryAfterS),
      );
    }
  }

  private updateDepth(): void {
    this.rates.saturated(this.depth > 0, this.clock.now());
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

/** The length limit of the request's answer, when it set one (its chat form, for the Messages door too). */
function requestMaxTokens(ctx: RequestContext | undefined): number | undefined {
  return ctx?.call === undefined ? undefined : maxTokensOf(ctx.call.body);
}

/** The request's prompt in estimated tokens, when it has a body (its prefill is part of the hold). */
function requestPromptTokens(ctx: RequestContext | undefined): number | undefined {
  return ctx?.call === undefined ? undefined : promptTokensOf(ctx.call.body);
}

/** The share of the work ahead a request leaves free for higher classes; none for a client's own retry. */
function headroomShare(p: Priority, ctx: RequestContext): number {
  return isClientRetry(ctx) ? 0 : CLASS_HEADROOM[p];
}

/**
 * A client back after our Retry-After: the official SDKs count their retries. Its second refusal would make that
 * advice a lie, so it leaves no headroom and is the last to be displaced.
 */
function isClientRetry(ctx: RequestContext): boolean {
  return (sdkRetryCount(ctx.req.headers) ?? 0) > 0;
}

/**
 * An official SDK's request with retries left: it sends `x-stainless-retry-count` on every try (0 on the first), and
 * comes back at the Retry-After a refusal gives while the count is under its `max_retries`.
 */
function willRetry(ctx: RequestContext): boolean {
  const count = sdkRetryCount(ctx.req.headers);
  return count !== undefined && Number.isInteger(count) && count >= 0 && count < SDK_MAX_RETRIES;
}

function displaced(retryAfterS: number): SpillwayError {
  return new SpillwayError(
    'queue_full',
    "A higher-priority request that could not otherwise finish in time took this request's place in the wait queue.",
    { retryAfterS },
  );
}

function unmeetable(model: ModelConfig, overMs: number, retryAfterS: number): SpillwayError {
  return new SpillwayError(
    'deadline_unmeetable',
    `Every upstream of '${model.name}' is busy and the work queued ahead would finish this request about ${Math.max(1, Math.round(overMs))} ms after its deadline.`,
    { retryAfterS },
  );
}

/** A measured service time, or the least one a request can have (also before any is measured). */
function atLeastMinService(ms: number): number {
  return Math.max(MIN_SERVICE_MS, ms);
}
