import type { Clock } from '../clock.ts';
import type { Config, UpstreamConfig } from '../config/types.ts';
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import { buildPipeline } from '../gateway.ts';
import type { Handler } from '../pipeline.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RequestContext } from '../server/context.ts';
import { RetryBudgets } from '../retry/retry-budgets.ts';
import { keepQueuedClientAlive } from '../relay/queued-keepalive.ts';
import { AdmissionQueue } from '../queue/admission-queue.ts';
import type { SharedState } from '../state/shared-state.ts';
import { createState } from '../state/create-state.ts';
import { AccountGate } from '../balance/account-gate.ts';
import { Balancer } from '../balance/balancer.ts';
import { EngineMetricsPoller } from '../upstream/engine-metrics-poller.ts';
import { UpstreamPools } from '../upstream/pools.ts';
import type { LongLived } from './long-lived.ts';
import { InFlight } from './in-flight.ts';

/**
 * Everything built from one config: the pipeline and the objects it runs on. A reload builds a new Runtime and
 * swaps it in (reload-swap.ts); requests already inside the old one finish on it, then it is closed.
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
  /** Its pipeline's stages, in request order. */
  readonly stages: readonly string[];
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

/** What every runtime of one gateway shares: the process's tools and the features that outlive a reload. */
export interface RuntimeShared extends LongLived {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  isDraining: () => boolean;
  /** The cache settings the cache was built with: its entries and flights outlive a reload, and so do they. */
  cacheConfig: Config['cache'];
}

export function buildRuntime(config: Config, shared: RuntimeShared, previous?: Runtime): Runtime {
  const { clock, log, metrics, cache } = shared;
  // Shared state (rate-limit windows, shared caps) outlives a reload when its settings did not change.
  const stateKey = JSON.stringify(config.state);
  const state = previous?.stateKey === stateKey ? previous.state : createState(config, log, metrics);
  const pools = new UpstreamPools(config.upstreams, (u) => shared.kinds.of(u));
  const kindOf = (u: UpstreamConfig): UpstreamKind => shared.kinds.of(u);
  const balancer = new Balancer(config, { clock, metrics, log, kindOf }, previous?.balancer);
  const engines = new EngineMetricsPoller(config, { balancer, clock, log, kindOf });
  const queue = new AdmissionQueue(config, { balancer, clock, metrics, keepAlive: keepQueuedClientAlive });
  const gate = AccountGate.needed(config) ? new AccountGate(config, state) : undefined;
  const pipelineConfig = cache === undefined ? config : { ...config, cache: shared.cacheConfig };
  const budgets = new RetryBudgets(config.retry, clock);
  const pipeline = buildPipeline(pipelineConfig, { ...shared, config, balancer, queue, gate, pools, budgets, state });
  const inFlight = new InFlight();
  let stateHandedOn = false;
  return {
    config,
    balancer,
    queue,
    pools,
    state,
    stateKey,
    stages: pipeline.stages,
    inFlight: () => inFlight.count,
    run(ctx) {
      inFlight.enter();
      // No async wrapper: it would add promise hops to every request for a counter.
      return pipeline.run(ctx).finally(inFlight.leave);
    },
    idle: () => inFlight.idle(),
    stopPolling: () => engines.stop(),
    handOnState: () => {
      stateHandedOn = true;
    },
    async close() {
      engines.stop();
      queue.close();
      inFlight.forgetWaiters();
      await pools.close();
      if (!stateHandedOn) await state.close();
    },
  };
}
