import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { RequestLog } from '../observe/request-log.ts';
import { AccessLog } from '../observe/access-log.ts';
import { HttpServer } from '../server/http-server.ts';
import { opsRoutes } from '../admin/ops-routes.ts';
import { AdminRoutes } from '../admin/admin-routes.ts';
import { RequestGuard, refused } from '../admin/request-guard.ts';
import { StatsSampler, type StatsSources } from '../admin/stats-sampler.ts';
import type { Jobs } from '../jobs/jobs.ts';
import type { Runtime } from './runtime.ts';

export interface SurfaceDeps {
  /** The address the listener binds. */
  host: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** The runtime live now: requests go to its pipeline. */
  live: () => Runtime;
  /** The dashboard's line about the config in force. */
  info: StatsSources['info'];
  jobs: Jobs | undefined;
  statsIntervalMs: number | undefined;
}

/**
 * What stands in front of the pipeline for the life of the process: the listener, the admin surface with its
 * Host/Origin guard, the logs of finished requests and the dashboard's sampler. A reload reconfigures it; it is
 * never rebuilt, so the listener stays bound.
 */
export class Surface {
  readonly requestLog: RequestLog;
  readonly stats: StatsSampler;
  readonly guard: RequestGuard;
  readonly admin: AdminRoutes;
  readonly http: HttpServer;
  private accessLog: AccessLog | undefined;
  private readonly log: Logger;

  constructor(initial: Config, deps: SurfaceDeps) {
    const { clock, log, metrics, live, jobs } = deps;
    this.log = log;
    this.requestLog = new RequestLog(initial.admin.requestLogSize);
    this.accessLog = initial.log.accessFile === null ? undefined : new AccessLog(initial.log.accessFile, log);
    // The sampler's closures run once it starts, after the listener exists.
    this.stats = new StatsSampler(
      {
        clock,
        metrics,
        requestLog: this.requestLog,
        live,
        requestsInFlight: () => this.http.requestsInFlight,
        info: deps.info,
      },
      deps.statsIntervalMs,
    );
    this.guard = new RequestGuard({ listenHost: deps.host, allowedHosts: initial.server.allowedHosts });
    this.admin = new AdminRoutes(initial.admin.key, log, this.guard);
    const ops = opsRoutes(metrics, () => this.http.isDraining);
    this.http = new HttpServer({
      config: initial,
      clock,
      log,
      metrics,
      handler: (ctx) => live().run(ctx),
      // The API (jobs' and the pipeline's) refuses a foreign Host or Origin too: on a keyless loopback gateway a
      // rebinding or cross-site page could otherwise spend the upstream keys. Probes and /metrics come first, unguarded.
      ops: (req, res, path) =>
        ops(req, res, path) ||
        this.admin.handle(req, res, path) ||
        refused(req, res, () => this.guard.origin(req)) ||
        (jobs?.api.handle(req, res, path) ?? false),
      onFinished: (r, atMs) => {
        this.requestLog.push(r, atMs);
        this.accessLog?.write(r, atMs);
        this.stats.noteRequest(r);
      },
    });
  }

  /** A reload's settings for the listener, the admin key and guard, the log level and the request logs. */
  async reconfigure(next: Config, old: Config): Promise<void> {
    this.http.reconfigure(next);
    this.admin.setKey(next.admin.key);
    this.guard.setAllowedHosts(next.server.allowedHosts);
    // Only a changed level is applied: a logger handed in by the caller (tests, embedding) keeps its own otherwise.
    if (next.log.level !== old.log.level) this.log.level = next.log.level;
    this.requestLog.resize(next.admin.requestLogSize);
    if (this.accessLog?.same(next.log.accessFile) !== true) {
      const closing = this.accessLog?.close();
      this.accessLog = next.log.accessFile === null ? undefined : new AccessLog(next.log.accessFile, this.log);
      await closing;
    }
  }

  async closeAccessLog(): Promise<void> {
    await this.accessLog?.close();
  }
}
