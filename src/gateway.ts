import type { AddressInfo } from 'node:net';
import { realClock, type Clock } from './clock.ts';
import type { Config } from './config/types.ts';
import { configChanges, readConfigForReload } from './config/reload-config.ts';
import { compose, type Handler, type Stage } from './pipeline.ts';
import { createLogger, type Logger } from './observe/log.ts';
import { Metrics } from './observe/metrics.ts';
import { RequestLog } from './observe/request-log.ts';
import { AccessLog } from './observe/access-log.ts';
import type { RequestContext } from './server/context.ts';
import { HttpServer } from './server/http-server.ts';
import { receiveStage } from './server/receive-stage.ts';
import { parseStage } from './api/parse-stage.ts';
import { doorStage } from './api/door-stage.ts';
import { MemoryResponseStore, type ResponseStore } from './api/responses/response-store.ts';
import { createResponseStore } from './api/responses/create-response-store.ts';
import { authenticateStage } from './auth/authenticate-stage.ts';
import { resolveModelStage } from './route/resolve-model-stage.ts';
import { dispatchStage, type DispatchDeps } from './retry/dispatch-stage.ts';
import { RetryBudgets } from './retry/retry-budgets.ts';
import { AdmissionQueue } from './queue/admission-queue.ts';
import { hasRateLimits, rateLimitStage } from './admission/rate-limit-stage.ts';
import { degradeStage } from './admission/degrade-stage.ts';
import type { SharedState } from './state/shared-state.ts';
import { createState } from './state/create-state.ts';
import { AccountGate } from './balance/account-gate.ts';
import { EngineMetricsPoller } from './upstream/engine-metrics-poller.ts';
import { Balancer } from './balance/balancer.ts';
import { UpstreamPools } from './upstream/pools.ts';
import { UpstreamKinds } from './upstream/upstream-kinds.ts';
import { opsRoutes } from './admin/ops-routes.ts';
import { AdminRoutes, sendJson } from './admin/admin-routes.ts';
import { RequestGuard, refused } from './admin/request-guard.ts';
import { maskSecrets } from './config/mask.ts';
import { StatsSampler } from './admin/stats-sampler.ts';
import { upstreamRoutes } from './admin/upstream-routes.ts';
import { reloadRoutes } from './admin/reload-routes.ts';
import { requestRoutes } from './admin/request-routes.ts';
import { statsRoutes } from './admin/stats-routes.ts';
import { dashboardRoutes } from './admin/dashboard-routes.ts';
import type { Tracing, TracingOptions } from './observe/tracing.ts';
import { cacheStage } from './cache/cache-stage.ts';
import { ResponseCache, cacheEnabled } from './cache/response-cache.ts';
import { cacheRoutes } from './cache/cache-routes.ts';
import { Jobs } from './jobs/jobs.ts';
import { mayPassThrough } from './upstream/upstream-api.ts';
import { exposureProblems } from './config/exposure.ts';
import { ConfigError, SpillwayError } from './errors.ts';

/**
 * The request path, assembled once per config, one stage per line in request order. A feature that is turned off
 * is left out here rather than checked on every request.
 *
 *   trace? → receive → parse → job-call? → authenticate? → door → resolve-model → respond-async? → rate-limit? → degrade? → cache? → dispatch
 *   dispatch = queue (late binding) → balance → upstream → relay, per attempt
 */
export function buildPipeline(config: Config, deps: DispatchDeps & { isDraining: () => boolean; state: SharedState; tracing?: Tracing | undefined; cache?: ResponseCache | undefined; jobs?: Jobs | undefined; responses?: ResponseStore | undefined }) {
  const dispatch = dispatchStage(deps);
  const jobs = deps.jobs;
  const stages: (Stage<RequestContext> | false)[] = [
    deps.tracing !== undefined && deps.tracing.stage, //  observe: the request span (parent: the client's traceparent)
    receiveStage(config, deps.isDraining), //            server: drain gate, body limit and timeout
    parseStage, //                                       api: body → typed Call
    jobs !== undefined && jobs.jobCall(config.auth.keys), // jobs: a job item's own run → background class, as its key
    config.auth.keys.length > 0 && authenticateStage(config.auth.keys, config.tenants), // auth: key → tenant, priority
    doorStage(config, deps.responses ?? new MemoryResponseStore(config.responses)), // api: Messages / Responses → chat Call, answers translated back
    resolveModelStage(config), //                        route: public model → routes; GET /v1/models
    jobs !== undefined && jobs.respondAsync, //          jobs: Prefer: respond-async → stored, then 202 + Location
    hasRateLimits(config) && rateLimitStage(config, deps), // admission: requests/tokens per minute, 429 at once
    (config.degrade.queueDepth !== null || config.degrade.shedPercent !== null) && degradeStage(config, { ...deps, queueDepth: () => deps.queue.depth }), // degrade under pressure
    deps.cache !== undefined && cacheStage(config, deps.cache, { ...deps, passesThrough: (ctx) => ctx.model !== undefined && mayPassThrough(ctx.call?.native !== undefined, ctx.model, config, (u) => deps.pools.kind(u)) }, compose([dispatch])), // cache: hits, stale answers; a miss runs dispatch on a flight identical requests share
    dispatch, //                                         retry loop: balance → upstream → relay, per attempt
  ];
  return compose(stages.filter((s): s is Stage<RequestContext> => s !== false));
}

/**
 * Everything built from one config: the pipeline and the objects it runs on. A reload builds a new Runtime and
 * swaps it in; requests already inside the old one finish on it, then it is closed (`retire`).
 */
export interface Runtime {
  readonly config: Config;
  readonly balancer: Balancer;
  readonly queue: AdmissionQueue;
  /** Its connection pools, and the timeouts they learned. */
  readonly pools: UpstreamPools;
  readonly state: SharedState;
  /** The state settings it was built with: a reload with the same ones keeps the state (rate-limit windows). */
  readonly stateKey: string;
  readonly run: Handler<RequestContext>;
  /** Requests inside this runtime's pipeline now. */
  readonly inFlight: () => number;
  /** Resolves once no request is inside this runtime any more. */
  idle(): Promise<void>;
  /** Stops its timers (engine scrapes) at once: a retired runtime must not keep writing the live balancer's state. */
  stopPolling(): void;
  /** The next runtime took over its shared state: close() must leave it open. */
  handOnState(): void;
  /** Closes its queue, connection pools and (unless the next runtime took it over) its shared state. */
  close(): Promise<void>;
}

interface RuntimeShared {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  isDraining: () => boolean;
  /** Tracing and the answer cache live as long as the gateway (their settings apply on restart, see reload-config.ts). */
  tracing: Tracing | undefined;
  cache: ResponseCache | undefined;
  cacheConfig: Config['cache'];
  /** Async jobs (undefined when off): their stages are in every pipeline a reload builds. */
  jobs: Jobs | undefined;
  /** Upstream kinds as known now (probes learn some after startup; a reload keeps what was learned). */
  kinds: UpstreamKinds;
  /** Stored Responses API answers: they outlive a reload, like the cache. */
  responses: ResponseStore;
}

export function buildRuntime(config: Config, shared: RuntimeShared, previous?: Runtime): Runtime {
  const { clock, log, metrics, isDraining, tracing, cache } = shared;
  // Shared state (rate-limit windows, shared caps) outlives a reload when its settings did not change.
  const stateKey = JSON.stringify(config.state);
  const keepState = previous !== undefined && previous.stateKey === stateKey;
  const state = keepState ? previous.state : createState(config, log, metrics);
  const pools = new UpstreamPools(config.upstreams, (u) => shared.kinds.of(u));
  const balancer = new Balancer(config, { clock, metrics, log }, previous?.balancer);
  const budgets = new RetryBudgets(config.retry, clock);
  const engines = new EngineMetricsPoller(config, balancer, log);
  const queue = new AdmissionQueue(config, { balancer, clock, metrics });
  const gate = AccountGate.needed(config) ? new AccountGate(config, state) : undefined;
  // The cache stage keeps the settings the cache was built with: its entries and flights outlive a reload.
  const pipelineConfig = cache === undefined ? config : { ...config, cache: shared.cacheConfig };
  const handler = buildPipeline(pipelineConfig, { config, balancer, queue, gate, pools, budgets, clock, log, metrics, isDraining, state, tracing, cache, jobs: shared.jobs, responses: shared.responses });
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const left = (): void => {
    if (--inFlight === 0) for (const w of idleWaiters.splice(0)) w();
  };
  let stateHandedOn = false;
  return {
    config, balancer, queue, pools, state, stateKey,
    inFlight: () => inFlight,
    run(ctx) {
      inFlight++;
      // No async wrapper: it would add promise hops to every request for a counter.
      return handler(ctx).finally(left);
    },
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    stopPolling: () => engines.stop(),
    handOnState: () => {
      stateHandedOn = true;
    },
    async close() {
      engines.stop();
      queue.close();
      idleWaiters = [];
      await pools.close();
      if (!stateHandedOn) await state.close();
    },
  };
}

/** What a reload did: top-level config sections that changed, and settings only a restart can apply. */
export interface ReloadResult {
  source: string;
  changed: string[];
  restartNeeded: string[];
  /** Requests that were inside the replaced pipeline at the swap: they finish on it before it is closed. */
  inFlightOnOld: number;
}

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

export async function startGateway(initial: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const host = opts.host ?? initial.server.host;
  // The loader checked server.host; this catches --host and configs built without the loader.
  refuseOpenExposure(initial, host, opts.host);
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? createLogger(initial.log.level);
  const metrics = new Metrics();
  // The closures below run only once requests arrive, after `http` exists.
  const isDraining = (): boolean => http.isDraining;
  const tracing = await startTracing(initial, log, opts.tracing);
  const cache = cacheEnabled(initial) ? new ResponseCache(initial, metrics, { ...(opts.cacheClock === undefined ? {} : { clock: opts.cacheClock }) }) : undefined;
  // Async jobs live as long as the gateway, like the cache: the runner reads whichever runtime is live.
  const jobs = initial.jobs.enabled
    ? await Jobs.open(initial, { log, metrics, isDraining, keys: () => live.config.auth.keys, load: { interactiveWaiting: () => live.queue.depth, load: () => live.balancer.load() } })
    : undefined;
  // Stored responses outlive a reload, like the cache; their store is opened once (its file only on first use).
  const responses = await createResponseStore(initial, log, opts.responsesClock === undefined ? undefined : () => opts.responsesClock?.now() ?? Date.now());
  const kinds = new UpstreamKinds();
  if (opts.probeKinds === true) void kinds.probe(initial.upstreams, log);
  const shared: RuntimeShared = { clock, log, metrics, isDraining, tracing, cache, cacheConfig: initial.cache, jobs, kinds, responses };
  let live = buildRuntime(initial, shared);
  // Whichever runtime is live: kept upstreams share their slot counters with the runtime they replaced.
  metrics.inFlightSource = () => live.balancer.inFlightRows();
  metrics.timeoutSource = () => live.pools.timeoutRows();
  let loadedAt = new Date().toISOString();
  let reloads = 0;
  const retiring = new Set<Promise<void>>();
  const requestLog = new RequestLog(initial.admin.requestLogSize);
  let accessLog = initial.log.accessFile === null ? undefined : new AccessLog(initial.log.accessFile, log);
  const stats = new StatsSampler({
    clock, metrics, requestLog,
    live: () => live,
    requestsInFlight: () => http.requestsInFlight,
    info: () => ({ source: live.config.source, loadedAt, reloads, replacedStillFinishing: retiring.size }),
  }, opts.statsIntervalMs);
  const guard = new RequestGuard({ listenHost: host, allowedHosts: initial.server.allowedHosts });
  const admin = new AdminRoutes(initial.admin.key, log, guard);
  const ops = opsRoutes(metrics, isDraining);
  const http = new HttpServer({
    config: initial, clock, log, metrics,
    handler: (ctx) => live.run(ctx),
    // The API (jobs' and the pipeline's) refuses a foreign Host or Origin too: on a keyless loopback gateway a
    // rebinding or cross-site page could otherwise spend the upstream keys. Probes and /metrics come first, unguarded.
    ops: (req, res, path) => ops(req, res, path) || admin.handle(req, res, path) || refused(req, res, () => guard.origin(req)) || (jobs?.api.handle(req, res, path) ?? false),
    onFinished: (r, atMs) => {
      requestLog.push(r, atMs);
      accessLog?.write(r, atMs);
      stats.noteRequest(r);
    },
  });

  const waitingOld = new Set<AdmissionQueue>();
  const pumpAll = (): void => {
    for (const q of waitingOld) q.pump();
    live.queue.pump();
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (next?: Config): Promise<ReloadResult> => {
    const run = reloading.then(() => swap(next));
    reloading = run.catch(() => undefined);
    return run;
  };
  const swap = async (given?: Config): Promise<ReloadResult> => {
    let next: Config;
    try {
      next = given ?? readConfigForReload(opts.configFile);
    } catch (err) {
      metrics.configReloads.inc({ result: 'invalid' });
      throw err;
    }
    try {
      // A reload must not take the keys away from a listener that is not on loopback.
      refuseOpenExposure(next, host, opts.host);
    } catch (err) {
      metrics.configReloads.inc({ result: 'invalid' });
      throw new SpillwayError('config_invalid', `${(err as Error).message}\nThe config in force was kept.`, { cause: err });
    }
    const old = live;
    if (opts.probeKinds === true) void kinds.probe(next.upstreams, log);
    const fresh = buildRuntime(next, shared, old);
    if (fresh.state === old.state) old.handOnState();
    // From here on new requests take the new pipeline; the old one keeps the requests it has.
    live = fresh;
    http.reconfigure(next);
    admin.setKey(next.admin.key);
    guard.setAllowedHosts(next.server.allowedHosts);
    // Only a changed level is applied: a logger handed in by the caller (tests, embedding) keeps its own otherwise.
    if (next.log.level !== old.config.log.level) log.level = next.log.level;
    requestLog.resize(next.admin.requestLogSize);
    if (accessLog?.same(next.log.accessFile) !== true) {
      const closing = accessLog?.close();
      accessLog = next.log.accessFile === null ? undefined : new AccessLog(next.log.accessFile, log);
      await closing;
    }
    old.stopPolling();
    // The slot counters are shared, so any release may serve a request waiting in any queue: those waiting in
    // replaced pipelines came first and are served first, then the live queue.
    waitingOld.add(old.queue);
    old.balancer.onRelease = pumpAll;
    fresh.balancer.onRelease = pumpAll;
    const retire: Promise<void> = old.idle().then(() => old.close()).catch((err: unknown) => {
      log.error({ err }, 'closing the replaced pipeline failed');
    }).finally(() => {
      waitingOld.delete(old.queue);
      retiring.delete(retire);
    });
    retiring.add(retire);
    reloads++;
    loadedAt = new Date().toISOString();
    metrics.configReloads.inc({ result: 'ok' });
    const result = { source: next.source, ...configChanges(old.config, next), inFlightOnOld: old.inFlight() };
    log.info(result, 'config reloaded');
    if (result.restartNeeded.length > 0) log.warn({ keys: result.restartNeeded }, 'these settings changed but apply only after a restart');
    return result;
  };

  const currentConfig = (): Config => live.config;
  admin.add(
    { method: 'GET', path: '/admin/config', handle: ({ res }) => sendJson(res, 200, maskSecrets(currentConfig().raw)) },
    ...upstreamRoutes(() => live.balancer),
    ...reloadRoutes(reload),
    ...requestRoutes(requestLog),
    ...statsRoutes(stats),
    ...dashboardRoutes(),
    ...(cache === undefined ? [] : cacheRoutes(cache)),
    ...(jobs?.adminRoutes ?? []),
  );

  const server = http.server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? initial.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await jobs?.close(); // the job store is open already: a port in use must not leave it locked
    await responses.close();
    throw err;
  });
  stats.start();
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  jobs?.start(`http://${loopbackHost(host)}:${port}`);
  return {
    url: `http://${shownHost}:${port}`,
    port,
    get config() {
      return live.config;
    },
    get runtime() {
      return live;
    },
    metrics,
    log,
    http,
    cache,
    jobs,
    admin,
    requestLog,
    stats,
    reload,
    kindsSettled: () => kinds.settled(),
    async reloadsSettled() {
      await reloading;
      await Promise.all([...retiring]);
    },
    get replacedStillFinishing() {
      return retiring.size;
    },
    async shutdown(graceMs = live.config.server.drainGraceMs) {
      jobs?.stopTaking(); //                             no new job items; those in flight finish with the drain
      const clean = await http.drain(graceMs);
      stats.stop();
      await reloading;
      // Past the grace period: cut what is left, so requests still inside a replaced pipeline end and it can close.
      server.closeAllConnections();
      await jobs?.close(); //                            the runner's items are recorded or given back; the store closes
      await live.close();
      await Promise.all([...retiring]);
      await accessLog?.close();
      await cache?.close();
      await responses.close();
      await tracing?.shutdown();
      return clean;
    },
  };
}

function refuseOpenExposure(config: Config, host: string, hostOption: string | undefined): void {
  const where = hostOption === undefined ? 'server.host' : 'the --host option';
  const problems = exposureProblems({ host, allowUnauthenticated: config.server.allowUnauthenticated, gatewayKeys: config.auth.keys.length, adminKey: config.admin.key }, where);
  if (problems.length > 0) throw new ConfigError(config.source, problems);
}

/** Where this process reaches its own listener: a wildcard address is reached on loopback. */
function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Tracing is loaded only when it is configured: with `tracing.otlp_endpoint` null neither `tracing.ts` nor the
 * OpenTelemetry SDK is imported and the trace stage is not in the pipeline.
 */
async function startTracing(config: Config, log: Logger, opts: TracingOptions | undefined): Promise<Tracing | undefined> {
  const endpoint = config.tracing.otlpEndpoint;
  if (endpoint === null) return undefined;
  const { Tracing } = await import('./observe/tracing.ts');
  log.info({ endpoint, sampleRatio: config.tracing.sampleRatio }, 'tracing: exporting OpenTelemetry spans');
  return new Tracing({ ...config.tracing, otlpEndpoint: endpoint }, log, opts);
}
