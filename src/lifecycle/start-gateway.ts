import { realClock, type Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import { readConfigForReload } from '../config/reload-config.ts';
import { refuseOpenExposure } from '../config/exposure.ts';
import { maskSecrets } from '../config/mask.ts';
import { createLogger, type Logger } from '../observe/log.ts';
import { Metrics } from '../observe/metrics.ts';
import type { RequestLog } from '../observe/request-log.ts';
import type { TracingOptions } from '../observe/tracing.ts';
import type { HttpServer } from '../server/http-server.ts';
import type { AdminRoutes } from '../admin/admin-routes.ts';
import { sendJson } from '../server/send-json.ts';
import type { StatsSampler } from '../admin/stats-sampler.ts';
import { upstreamRoutes } from '../admin/upstream-routes.ts';
import { reloadRoutes } from '../admin/reload-routes.ts';
import { requestRoutes } from '../admin/request-routes.ts';
import { statsRoutes } from '../admin/stats-routes.ts';
import { dashboardRoutes } from '../admin/dashboard-routes.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import { cacheRoutes } from '../cache/cache-routes.ts';
import type { Jobs } from '../jobs/jobs.ts';
import { openLongLived } from './long-lived.ts';
import { buildRuntime, type Runtime, type RuntimeShared } from './runtime.ts';
import { ReloadSwap, type ReloadResult } from './reload-swap.ts';
import { Surface } from './surface.ts';
import { listen, loopbackHost, urlHost } from './listen.ts';
import { stopGateway, type GatewayParts } from './stop-gateway.ts';

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** The config in force now (a reload replaces it). */
  readonly config: Config;
  /** The objects of the config in force now. */
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly http: HttpServer;
  /** The answer cache and its flights; undefined when no model is cached. */
  readonly cache: ResponseCache | undefined;
  /** Async jobs (store, runner, API); undefined when `jobs.enabled` is off. */
  readonly jobs: Jobs | undefined;
  /** The admin surface (`/admin/*`, `/dashboard`): features register their routes here at startup. */
  readonly admin: AdminRoutes;
  readonly requestLog: RequestLog;
  readonly stats: StatsSampler;
  /**
   * Swaps in `config` (default: the config file re-read and validated) without dropping a request: new requests go
   * to a pipeline built from it, in-flight ones finish on the old one, which is then closed. An invalid file throws
   * `config_invalid` and changes nothing.
   */
  reload(config?: Config): Promise<ReloadResult>;
  /** Resolves once every upstream kind probe started so far has ended (at once when none was started). */
  kindsSettled(): Promise<void>;
  /** Resolves once every pipeline replaced by a reload so far has finished its requests and been closed. */
  reloadsSettled(): Promise<void>;
  /** Pipelines replaced by a reload that still finish requests (closed once they are done). */
  readonly replacedStillFinishing: number;
  /** Stops taking requests, lets in-flight ones finish for up to `graceMs`, then closes everything. */
  shutdown(graceMs?: number): Promise<boolean>;
}

export interface GatewayOptions {
  clock?: Clock;
  log?: Logger;
  /** Overrides config.server.port (tests pass 0). */
  port?: number;
  host?: string;
  /** Wall-clock time of cache entries (epoch ms; tests pass a FakeClock to expire entries without waiting). */
  cacheClock?: Clock;
  /** Wall-clock time of stored responses (epoch ms; tests pass a FakeClock to see the retention end). */
  responsesClock?: Clock;
  /** Tracing settings that are not config (tests shorten the span batching delay). */
  tracing?: TracingOptions;
  /** The file the config came from: what a reload (POST /admin/reload, SIGHUP) re-reads. */
  configFile?: string;
  /** How often the dashboard's stats are sampled (ms); 1000 unless a test wants it faster. */
  statsIntervalMs?: number;
  /**
   * Ask each upstream whose kind neither the config nor the URL tells for `GET /models`, in the background
   * (upstream-kinds.ts). `spillway start` does; embedders and tests opt in, since the probe is a request the
   * upstream sees.
   */
  probeKinds?: boolean;
}

/**
 * Starts the gateway in the order its parts depend on each other: the features that outlive a reload, the runtime
 * of the first config (and the swap that will replace it), the surface in front of it, the listener.
 */
export async function startGateway(initial: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const host = opts.host ?? initial.server.host;
  const refuse = (config: Config): void => refuseOpenExposure(config, host, opts.host);
  refuse(initial);
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? createLogger(initial.log.level);
  const metrics = new Metrics();
  const probeKinds = opts.probeKinds === true;
  // The closures below run only once requests arrive, after `swap` and `surface` exist.
  const live = (): Runtime => swap.live;
  const isDraining = (): boolean => surface.http.isDraining;
  const jobsView = {
    keys: () => live().config.auth.keys,
    load: { interactiveWaiting: () => live().queue.depth, load: () => live().balancer.load() },
  };
  const features = await openLongLived(initial, {
    log,
    metrics,
    isDraining,
    live: jobsView,
    probeKinds,
    cacheClock: opts.cacheClock,
    responsesClock: opts.responsesClock,
    tracing: opts.tracing,
  });
  const shared: RuntimeShared = { ...features, clock, log, metrics, isDraining, cacheConfig: initial.cache };
  const read = (): Config => readConfigForReload(opts.configFile);
  const swap = new ReloadSwap(buildRuntime(initial, shared), {
    shared,
    log,
    metrics,
    read,
    refuse,
    probeKinds,
    reconfigure: (next, old) => surface.reconfigure(next, old),
  });
  const info = watchLive(metrics, swap);
  const surface = new Surface(initial, {
    host,
    clock,
    log,
    metrics,
    live,
    info,
    jobs: features.jobs,
    statsIntervalMs: opts.statsIntervalMs,
  });
  return serve({ features, swap, surface }, opts.port ?? initial.server.port, host, { metrics, log });
}

/** Metrics read whichever runtime is live; the returned function says where the live config came from. */
function watchLive(metrics: Metrics, swap: ReloadSwap) {
  // Kept upstreams share their slot counters with the runtime they replaced.
  metrics.inFlightSource = () => swap.live.balancer.inFlightRows();
  metrics.timeoutSource = () => swap.live.pools.timeoutRows();
  return () => ({
    source: swap.live.config.source,
    loadedAt: swap.loadedAt,
    reloads: swap.reloads,
    replacedStillFinishing: swap.stillFinishing,
  });
}

/** The admin routes added, the listener bound (a port in use closes what was opened), background work started. */
async function serve(parts: GatewayParts, port: number, host: string, tools: { metrics: Metrics; log: Logger }) {
  const { features, surface } = parts;
  addAdminRoutes(parts);
  const bound = await listen(surface.http.server, port, host).catch(async (err: unknown) => {
    await features.jobs?.close(); // the job store is open already: a port in use must not leave it locked
    await features.responses.close();
    throw err;
  });
  surface.stats.start();
  features.jobs?.start(`http://${loopbackHost(host)}:${bound}`);
  return gatewayOf(parts, `http://${urlHost(host)}:${bound}`, bound, tools);
}

/** The admin API's routes; features add their own (the cache's, the jobs'). */
function addAdminRoutes({ features, swap, surface }: GatewayParts): void {
  surface.admin.add(
    {
      method: 'GET',
      path: '/admin/config',
      handle: ({ res }) => sendJson(res, 200, maskSecrets(swap.live.config.raw)),
    },
    ...upstreamRoutes(() => swap.live.balancer),
    ...reloadRoutes(() => swap.reload()),
    ...requestRoutes(surface.requestLog),
    ...statsRoutes(surface.stats),
    ...dashboardRoutes(),
    ...(features.cache === undefined ? [] : cacheRoutes(features.cache)),
    ...(features.jobs?.adminRoutes ?? []),
  );
}

function gatewayOf(parts: GatewayParts, url: string, port: number, tools: { metrics: Metrics; log: Logger }): Gateway {
  const { features, swap, surface } = parts;
  return {
    url,
    port,
    get config() {
      return swap.live.config;
    },
    get runtime() {
      return swap.live;
    },
    ...tools,
    http: surface.http,
    cache: features.cache,
    jobs: features.jobs,
    admin: surface.admin,
    requestLog: surface.requestLog,
    stats: surface.stats,
    reload: (next) => swap.reload(next),
    kindsSettled: () => features.kinds.settled(),
    reloadsSettled: () => swap.settled(),
    get replacedStillFinishing() {
      return swap.stillFinishing;
    },
    shutdown: (graceMs = swap.live.config.server.drainGraceMs) => stopGateway(parts, graceMs),
  };
}
