import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { JobsConfig } from '../../config/types.ts';
import type { Logger } from '../../observe/log.ts';
import type { Metrics } from '../../observe/metrics.ts';
import { BackgroundLimit, spareRoom } from './background-limit.ts';
import { SlidingMax } from './sliding-max.ts';
import { decideItem, type ItemPolicy } from './item-policy.ts';
import type { ItemResult, JobStore, LeasedItem } from '../store/job-store.ts';
import { ITEM_STATES } from '../store/job-store.ts';
import { inRunWindow, msUntilOpen, parseRunWindow, type RunWindow } from './run-window.ts';
import { errorCodeOf, errorMessageOf, type ItemCaller } from './run-item.ts';

/** What the runner reads about the gateway's load to decide whether there is spare room. */
export interface LoadView {
  interactiveWaiting(): number;
  load(): { inFlight: number; capacity: number };
  /** How late the event loop runs now (ms). */
  loopLagMs(): number;
}

export interface RunnerDeps {
  config: JobsConfig;
  store: JobStore;
  caller: ItemCaller;
  load: LoadView;
  metrics: Metrics;
  log: Logger;
  /** Wall-clock Unix ms: leases and backoffs are compared across processes and restarts. */
  wall: Clock;
  random?: () => number;
  /** Housekeeping that runs with each tick (batch finalization, webhooks, retention). */
  housekeeping: () => Promise<void>;
}

/** Leases taken per store round trip, at most. */
const LEASE_BATCH = 32;
/** Housekeeping (batch finalization, webhooks) at most this often. */
const HOUSEKEEPING_MS = 250;
/** Gauges from the store at most this often: counting every item by state is a scan, kept off the hot rhythm. */
const GAUGES_MS = 5000;

/**
 * Takes runnable items from the store while there is spare room and runs each through the gateway (ItemCaller),
 * then records what happened (item-policy.ts decides). Leases are renewed while items run, so only a dead instance's
 * items come back to the queue. Timers are unref'd; `stop` ends leasing and waits for items in flight.
 */
export class JobRunner {
  readonly owner = `${process.pid}-${randomUUID()}`;
  private readonly d: RunnerDeps;
  private readonly limit: BackgroundLimit;
  private readonly policy: ItemPolicy;
  private readonly windows: RunWindow[];
  private readonly random: () => number;
  private readonly running = new Map<string, Promise<void>>();
  private readonly byTenant = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;
  private stopped = false;
  private lastHousekeeping = 0;
  private lastGauges = 0;
  /** Sampled whenever the runner looks for room (every poll, every finished item, every submission). */
  private readonly interactivePeak: SlidingMax;

  constructor(deps: RunnerDeps) {
    this.d = deps;
    this.limit = new BackgroundLimit(deps.config.concurrency);
    this.policy = {
      maxAttempts: deps.config.maxAttempts,
      backoff: { baseMs: deps.config.backoffBaseMs, capMs: deps.config.backoffCapMs },
    };
    this.windows = deps.config.runWindows.map(parseRunWindow);
    this.random = deps.random ?? Math.random;
    this.interactivePeak = new SlidingMax(deps.config.headroomWindowMs);
  }

  start(): void {
    this.heartbeat = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.d.config.leaseMs / 3)));
    this.heartbeat.unref();
    this.wake();
  }

  /** Look for work now (a submission, a finished item). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.tick();
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Stops taking items. Items in flight go on (the gateway's drain lets them finish). */
  halt(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Resolves once every item in flight has been recorded, or given back to the queue when its run was cut (the
   * gateway closed its connections after the drain grace). Leases stay renewed until then.
   */
  async settled(): Promise<void> {
    this.halt();
    await Promise.allSettled([...this.running.values()]);
    clearInterval(this.heartbeat);
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    let waitMs = this.d.config.pollIntervalMs;
    try {
      const now = this.d.wall.now();
      if (now - this.lastHousekeeping >= HOUSEKEEPING_MS) {
        this.lastHousekeeping = now;
        await this.d.housekeeping();
      }
      if (now - this.lastGauges >= GAUGES_MS) {
        this.lastGauges = now;
        await this.gauges(now);
      }
      if (!inRunWindow(now, this.windows)) {
        waitMs = Math.min(msUntilOpen(now, this.windows), this.d.config.pollIntervalMs);
        return;
      }
      for (;;) {
        if (this.stopped) return;
        const n = this.room();
        if (n <= 0) break;
        const skip = this.fullTenants();
        const items = await this.d.store.lease(
          this.owner,
          this.d.config.tenantConcurrency === null ? n : 1,
          this.d.wall.now(),
          this.d.wall.now() + this.d.config.leaseMs,
          skip,
        );
        if (items.length === 0) break;
        for (const it of items) this.launch(it);
      }
    } catch (err) {
      this.d.log.error({ err }, 'job runner tick failed');
    } finally {
      this.ticking = false;
      if (!this.stopped) {
        if (this.again) {
          this.again = false;
          setImmediate(() => this.wake());
        } else {
          this.timer = setTimeout(() => this.wake(), waitMs);
          this.timer.unref();
        }
      }
    }
  }

  /** How many more items may start now. */
  private room(): number {
    const { inFlight, capacity } = this.d.load.load();
    const now = this.d.wall.now();
    this.interactivePeak.add(now, Math.max(0, inFlight - this.running.size));
    const n = spareRoom({
      running: this.running.size,
      limit: this.limit.limit,
      interactiveWaiting: this.d.load.interactiveWaiting(),
      inFlight,
      capacity,
      interactivePeak: this.interactivePeak.max(now),
      sparePercent: this.d.config.sparePercent,
      loopLagMs: this.d.load.loopLagMs(),
      maxLoopLagMs: this.d.config.maxEventLoopLagMs,
    });
    return Math.min(LEASE_BATCH, n);
  }

  private fullTenants(): string[] {
    const cap = this.d.config.tenantConcurrency;
    if (cap === null) return [];
    return [...this.byTenant].filter(([, n]) => n >= cap).map(([t]) => t);
  }

  private launch(it: LeasedItem): void {
    this.byTenant.set(it.tenant, (this.byTenant.get(it.tenant) ?? 0) + 1);
    const p = this.runOne(it)
      .catch((err: unknown) => this.d.log.error({ err, item: it.id }, 'job item run failed'))
      .finally(() => {
        this.running.delete(it.id);
        const left = (this.byTenant.get(it.tenant) ?? 1) - 1;
        if (left === 0) this.byTenant.delete(it.tenant);
        else this.byTenant.set(it.tenant, left);
        this.wake();
      });
    this.running.set(it.id, p);
  }

  private async runOne(it: LeasedItem): Promise<void> {
    const { store, metrics, config } = this.d;
    const answer = await this.d.caller.run(it, config.itemTimeoutMs);
    const code = answer.status >= 400 || answer.status === 0 ? errorCodeOf(answer.body) : undefined;
    const now = this.d.wall.now();
    const verdict = decideItem(
      { status: answer.status, code, retryAfterS: answer.retryAfterS },
      it.attempts,
      this.policy,
      now,
      this.random,
    );
    if (verdict.kind === 'done' || verdict.kind === 'failed') {
      if (verdict.kind === 'done') this.limit.success();
      const recorded = await store.complete(it.id, this.result(it, answer.status, answer.body, answer.requestId), now);
      metrics.jobRuns.inc({ result: recorded ? verdict.kind : 'duplicate' });
    } else if (verdict.kind === 'dead') {
      await store.kill(it.id, this.owner, errorMessageOf(answer.status, answer.body), now);
      metrics.jobRuns.inc({ result: 'dead' });
    } else {
      if (!verdict.counted) this.limit.pushback(now);
      await store.retryLater(
        it.id,
        this.owner,
        errorMessageOf(answer.status, answer.body),
        verdict.atMs,
        verdict.counted,
        now,
      );
      metrics.jobRuns.inc({ result: verdict.counted ? 'retry' : 'pushback' });
    }
    metrics.jobBackgroundLimit.set(this.limit.limit);
  }

  /** Small answers go into the store; large ones to a file, so neither the database nor memory holds them. */
  private result(it: LeasedItem, status: number, body: Buffer, requestId: string): ItemResult {
    if (body.length <= this.d.config.inlineResultMaxBytes)
      return { status, body: body.toString('utf8'), bodyPath: null, requestId };
    const dir = join(this.d.config.dataDir, 'results');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${it.id}.json`);
    const tmp = `${path}.${this.owner}.tmp`;
    writeFileSync(tmp, body);
    renameSync(tmp, path);
    return { status, body: null, bodyPath: path, requestId };
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      await this.d.store.renew(this.owner, [...this.running.keys()], this.d.wall.now() + this.d.config.leaseMs);
    } catch (err) {
      this.d.log.warn({ err }, 'could not renew job leases');
    }
  }

  private async gauges(now: number): Promise<void> {
    const s = await this.d.store.stats();
    for (const st of ITEM_STATES) this.d.metrics.jobItems.set({ state: st }, s.byState[st]);
    this.d.metrics.jobOldestQueuedAge.set(s.oldestQueuedAt === null ? 0 : Math.max(0, (now - s.oldestQueuedAt) / 1000));
    this.d.metrics.jobBackgroundLimit.set(this.limit.limit);
  }
}
