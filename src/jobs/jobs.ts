import { randomBytes } from 'node:crypto';
import { Agent } from '../upstream/undici-dispatchers.ts';
import { rmSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Config, GatewayKey } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Stage } from '../pipeline.ts';
import type { RequestContext } from '../server/context.ts';
import type { AdminRoute } from '../admin/admin-routes.ts';
import { asyncStage } from './api/async-stage.ts';
import { finalizeBatch } from './run/finalize-batch.ts';
import { jobCallStage } from './run/job-call-stage.ts';
import type { JobStore } from './store/job-store.ts';
import { JobRunner, type LoadView } from './run/job-runner.ts';
import { JobsApi } from './api/jobs-api.ts';
import { jobsAdminRoutes } from './api/jobs-admin-routes.ts';
import { ItemCaller } from './run/run-item.ts';
import { sendDueWebhooks } from './run/webhook-sender.ts';
import { webhookLookup } from './run/webhook-target.ts';
import { createJobStore } from './store/create-job-store.ts';
import { EventLoopLag } from './run/event-loop-lag.ts';

/** Wall-clock time for everything durable (the gateway's own Clock is monotonic and per process). */
const wallClock: Clock = { now: () => Date.now() };

/** Retention sweeps at most this often. */
const SWEEP_EVERY_MS = 60_000;

export interface JobsDeps {
  log: Logger;
  metrics: Metrics;
  load: Omit<LoadView, 'loopLagMs'>;
  isDraining: () => boolean;
  /** The gateway keys in force now (a reload may change them); default: the config's. */
  keys?: () => readonly GatewayKey[];
  wall?: Clock;
}

/**
 * Async jobs, assembled once at startup when `jobs.enabled`: the two pipeline stages (job-call, respond-async), the
 * Files/Batches/Jobs API, the admin routes, and the runner that feeds items to the gateway on spare capacity.
 */
export class Jobs {
  readonly store: JobStore;
  readonly respondAsync: Stage<RequestContext>;
  readonly api: JobsApi;
  readonly adminRoutes: AdminRoute[];
  private readonly config: Config;
  private readonly deps: JobsDeps;
  private readonly wall: Clock;
  /** Per process, never stored: only this process's runner can run items in the background class. */
  private readonly secret = randomBytes(24).toString('hex');
  private runner: JobRunner | undefined;
  private caller: ItemCaller | undefined;
  private lastSweep = 0;
  private readonly lag = new EventLoopLag();
  /** Webhook connections: every address checked in the connection's own lookup (no redirects followed). */
  private readonly webhookAgent: Agent;

  private constructor(config: Config, store: JobStore, deps: JobsDeps) {
    this.config = config;
    this.store = store;
    this.deps = deps;
    this.wall = deps.wall ?? wallClock;
    const wake = () => this.runner?.wake();
    this.respondAsync = asyncStage({ config: config.jobs, store, wall: this.wall, wake });
    this.api = new JobsApi({
      config: config.jobs,
      bodyTimeoutMs: config.server.bodyTimeoutMs,
      uploadTimeoutMs: config.server.uploadTimeoutMs,
      bodyLimitBytes: config.server.bodyLimitBytes,
      store,
      keys: deps.keys ?? (() => config.auth.keys),
      wall: this.wall,
      log: deps.log,
      wake,
      isDraining: deps.isDraining,
    });
    this.adminRoutes = jobsAdminRoutes(store, this.wall, wake);
    this.webhookAgent = new Agent({ connect: { lookup: webhookLookup(config.jobs.webhook.allowPrivate) } });
  }

  /** The job-call stage for a pipeline built from a config with these gateway keys (a reload builds a new one). */
  jobCall(keys: readonly GatewayKey[]): Stage<RequestContext> {
    return jobCallStage(this.secret, keys);
  }

  static async open(config: Config, deps: JobsDeps): Promise<Jobs> {
    return new Jobs(config, await createJobStore(config, deps.log), deps);
  }

  /** Starts the runner once the gateway listens: items are sent to `loopbackUrl`. */
  start(loopbackUrl: string): void {
    this.caller = new ItemCaller(loopbackUrl, this.secret, Math.max(4, this.config.jobs.concurrency));
    const lag = this.lag;
    this.runner = new JobRunner({
      config: this.config.jobs,
      store: this.store,
      caller: this.caller,
      load: { ...this.deps.load, loopLagMs: () => lag.ms },
      metrics: this.deps.metrics,
      log: this.deps.log,
      wall: this.wall,
      housekeeping: () => this.housekeeping(),
    });
    this.runner.start();
  }

  /** Stops starting items (before the gateway drains; items in flight finish with the drain). */
  stopTaking(): void {
    this.runner?.halt();
  }

  /** After the drain: waits until every item in flight is recorded or given back, then closes the store. */
  async close(): Promise<void> {
    await this.runner?.settled();
    this.lag.stop();
    await this.caller?.close();
    await this.webhookAgent.close();
    await this.store.close();
  }

  private async housekeeping(): Promise<void> {
    const now = this.wall.now();
    for (const b of await this.store.toFinalize(now)) {
      // One batch that cannot be finalized now (a full disk) must not hold up the others, webhooks or the runner.
      await finalizeBatch(this.store, b, this.config.jobs.dataDir, now).catch((err: unknown) =>
        this.deps.log.warn({ err, batch: b.id }, 'batch finalization failed; it is tried again'),
      );
    }
    await sendDueWebhooks(this.store, this.config.jobs, now, this.deps.metrics, this.deps.log, this.webhookAgent);
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      for (const p of await this.store.sweep(now - this.config.jobs.retentionMs)) rmSync(p, { force: true });
    }
  }
}
