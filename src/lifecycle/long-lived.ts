import type { Clock } from '../clock.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Tracing, TracingOptions } from '../observe/tracing.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import type { ResponseStore } from '../api/responses/response-store.ts';
import { createResponseStore } from '../api/responses/create-response-store.ts';
import { Jobs, type JobsDeps } from '../jobs/jobs.ts';
import { UpstreamKinds } from '../upstream/upstream-kinds.ts';

/**
 * The features that live as long as the gateway, not as long as one config: a reload builds new pipelines around
 * them, and their own settings apply on restart (config/reload-config.ts). Each optional one is undefined when off.
 */
export interface LongLived {
  tracing: Tracing | undefined;
  /** The answer cache and its flights; undefined when no model is cached. */
  cache: ResponseCache | undefined;
  /** Async jobs: their stages are in every pipeline a reload builds; undefined when `jobs.enabled` is off. */
  jobs: Jobs | undefined;
  /** Upstream kinds as known now (probes learn some after startup; a reload keeps what was learned). */
  kinds: UpstreamKinds;
  /** Stored Responses API answers: they outlive a reload, like the cache. */
  responses: ResponseStore;
}

export interface LongLivedDeps {
  log: Logger;
  metrics: Metrics;
  isDraining: () => boolean;
  /** The gateway keys and the load of whichever runtime is live: the job runner reads them. */
  live: Required<Pick<JobsDeps, 'keys' | 'load'>>;
  cacheClock?: Clock | undefined;
  /** Wall-clock time of stored responses (epoch ms; tests pass a FakeClock to see the retention end). */
  responsesClock?: Clock | undefined;
  tracing?: TracingOptions | undefined;
  probeKinds: boolean;
}

export async function openLongLived(initial: Config, deps: LongLivedDeps): Promise<LongLived> {
  const { log, metrics, isDraining, live } = deps;
  const tracing = await startTracing(initial, log, deps.tracing);
  const cache = await openCache(initial, metrics, deps.cacheClock);
  const jobs = initial.jobs.enabled ? await Jobs.open(initial, { log, metrics, isDraining, ...live }) : undefined;
  // Opened once (its file only on first use); outlives a reload, like the cache.
  const responsesClock = deps.responsesClock;
  const responses = await createResponseStore(
    initial,
    log,
    responsesClock === undefined ? undefined : () => responsesClock.now(),
  );
  const kinds = new UpstreamKinds();
  if (deps.probeKinds) void kinds.probe(initial.upstreams, log);
  return { tracing, cache, jobs, kinds, responses };
}

/**
 * The answer cache, when at least one model is cached (otherwise the cache stage is left out of the pipeline). Its
 * modules (two-level store, Redis L2, semantic index, embedder) are loaded only then, like tracing's.
 */
async function openCache(
  config: Config,
  metrics: Metrics,
  clock: Clock | undefined,
): Promise<ResponseCache | undefined> {
  if (config.cache.models.length === 0) return undefined;
  const { ResponseCache } = await import('../cache/response-cache.ts');
  return new ResponseCache(config, metrics, clock === undefined ? {} : { clock });
}

/**
 * Tracing is loaded only when it is configured: with `tracing.otlp_endpoint` null neither `tracing.ts` nor the
 * OpenTelemetry SDK is imported and the trace stage is not in the pipeline.
 */
async function startTracing(
  config: Config,
  log: Logger,
  opts: TracingOptions | undefined,
): Promise<Tracing | undefined> {
  const endpoint = config.tracing.otlpEndpoint;
  if (endpoint === null) return undefined;
  const { Tracing } = await import('../observe/tracing.ts');
  log.info({ endpoint, sampleRatio: config.tracing.sampleRatio }, 'tracing: exporting OpenTelemetry spans');
  return new Tracing({ ...config.tracing, otlpEndpoint: endpoint }, log, opts);
}
