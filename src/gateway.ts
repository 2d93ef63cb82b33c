import type { AddressInfo } from 'node:net';
import { realClock, type Clock } from './clock.ts';
import type { Config } from './config/types.ts';
import { compose, type Stage } from './pipeline.ts';
import { createLogger, type Logger } from './observe/log.ts';
import { Metrics } from './observe/metrics.ts';
import type { RequestContext } from './server/context.ts';
import { HttpServer } from './server/http-server.ts';
import { receiveStage } from './server/receive-stage.ts';
import { parseStage } from './api/parse-stage.ts';
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
import { opsRoutes } from './admin/ops-routes.ts';
import { AdminRoutes, sendJson } from './admin/admin-routes.ts';
import { maskSecrets } from './config/mask.ts';
import type { Tracing, TracingOptions } from './observe/tracing.ts';
import { cacheStage } from './cache/cache-stage.ts';
import { ResponseCache, cacheEnabled } from './cache/response-cache.ts';
import { cacheRoutes } from './cache/cache-routes.ts';

/**
 * The request path, assembled once at startup, one stage per line in request order. A feature that is turned off
 * is left out here rather than checked on every request.
 *
 *   trace? → receive → parse → authenticate? → resolve-model → rate-limit? → degrade? → cache? → dispatch
 *   dispatch = queue (late binding) → balance → upstream → relay, per attempt
 */
export function buildPipeline(config: Config, deps: DispatchDeps & { isDraining: () => boolean; state: SharedState; tracing?: Tracing | undefined; cache?: ResponseCache | undefined }) {
  const dispatch = dispatchStage(deps);
  const stages: (Stage<RequestContext> | false)[] = [
    deps.tracing !== undefined && deps.tracing.stage, //  observe: the request span (parent: the client's traceparent)
    receiveStage(config, deps.isDraining), //            server: drain gate, body limit and timeout
    parseStage, //                                       api: body → typed Call
    config.auth.keys.length > 0 && authenticateStage(config.auth.keys, config.tenants), // auth: key → tenant, priority
    resolveModelStage(config), //                        route: public model → routes; GET /v1/models
    hasRateLimits(config) && rateLimitStage(config, deps), // admission: requests/tokens per minute, 429 at once
    (config.degrade.queueDepth !== null || config.degrade.shedPercent !== null) && degradeStage(config, { ...deps, queueDepth: () => deps.queue.depth }), // degrade under pressure
    deps.cache !== undefined && cacheStage(config, deps.cache, deps, compose([dispatch])), // cache: hits, stale answers; a miss runs dispatch on a flight identical requests share
    dispatch, //                                         retry loop: balance → upstream → relay, per attempt
  ];
  return compose(stages.filter((s): s is Stage<RequestContext> => s !== false));
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly http: HttpServer;
  /** The answer cache and its flights; undefined when no model is cached. */
  readonly cache: ResponseCache | undefined;
  /** The admin surface (`/admin/*`, `/dashboard`): features register their routes here at startup. */
  readonly admin: AdminRoutes;
  /** Stops taking requests, lets in-flight ones finish for up to `graceMs`, then closes everything. */
  shutdown(graceMs?: number): Promise<boolean>;
}

export interface GatewayOptions {
  clock?: Clock;
  log?: Logger;
  /** Wall-clock time of cache entries (epoch ms; tests pass a FakeClock to expire entries without waiting). */
  cacheClock?: Clock;
  /** Overrides config.server.port (tests pass 0). */
  port?: number;
  host?: string;
  /** Tracing settings that are not config (tests shorten the span batching delay). */
  tracing?: TracingOptions;
}

export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? createLogger(config.log.level);
  const metrics = new Metrics();
  const pools = new UpstreamPools(config.upstreams);
  const balancer = new Balancer(config, { clock, metrics, log });
  // The closures below run only once requests arrive, after `http` exists.
  const isDraining = (): boolean => http.isDraining;
  const budgets = new RetryBudgets(config.retry, clock);
  const engines = new EngineMetricsPoller(config, balancer, log);
  const state = createState(config, log, metrics);
  const tracing = await startTracing(config, log, opts.tracing);
  const queue = new AdmissionQueue(config, { balancer, clock, metrics });
  const gate = AccountGate.needed(config) ? new AccountGate(config, state) : undefined;
  const cache = cacheEnabled(config) ? new ResponseCache(config, metrics, { ...(opts.cacheClock === undefined ? {} : { clock: opts.cacheClock }) }) : undefined;
  const handler = buildPipeline(config, { config, balancer, queue, gate, pools, budgets, clock, log, metrics, isDraining, state, tracing, cache });
  const admin = new AdminRoutes(config.admin.key, log).add(
    { method: 'GET', path: '/admin/config', handle: ({ res }) => sendJson(res, 200, maskSecrets(config.raw)) },
    ...(cache === undefined ? [] : cacheRoutes(cache)),
  );
  const ops = opsRoutes(metrics, isDraining);
  const http = new HttpServer({ config, clock, log, metrics, handler, ops: (req, res, path) => ops(req, res, path) || admin.handle(req, res, path) });
  const server = http.server;
  const host = opts.host ?? config.server.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? config.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    config,
    metrics,
    log,
    http,
    cache,
    admin,
    async shutdown(graceMs = config.server.drainGraceMs) {
      const clean = await http.drain(graceMs);
      queue.close();
      engines.stop();
      await state.close();
      await cache?.close();
      server.closeAllConnections();
      await pools.close();
      await tracing?.shutdown();
      return clean;
    },
  };
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
