import type { Config } from '../config/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { MemoryState } from './memory-state.ts';
import { RedisState } from './redis-state.ts';
import { ResilientState } from './resilient-state.ts';
import type { SharedState } from './shared-state.ts';

/** This instance alone keeps its state in memory; with `state.redis` it is shared, and survives Redis outages. */
export function createState(config: Config, log: Logger, metrics: Metrics): SharedState {
  const r = config.state.redis;
  if (r === null) return new MemoryState();
  metrics.stateDegraded.set(0);
  return new ResilientState({
    redis: new RedisState({ url: r.url, prefix: r.prefix }),
    localFraction: r.localFraction,
    log,
    onChange: (degraded) => metrics.stateDegraded.set(degraded ? 1 : 0),
  });
}
