import type { Dispatcher, Pool as UndiciPool } from 'undici';
import { Pool } from './undici-dispatchers.ts';
import type { UpstreamCall } from './upstream-call.ts';

/**
 * One upstream's connections as undici Pools of at most `shardConnections` (256) each. An undici Pool finds a free
 * connection by walking its clients in order, twice per request (`kGetDispatcher`, `kHasDispatcher`), so with N
 * streams held open every new request walked N busy connections: O(N) per request, O(N²) over a ramp to N streams
 * (2.2% of the gateway's CPU at 3,000 streams, ~13% of a ramp to 8,000 by that square; docs/benchmarks.md). With
 * shards a request walks the shards, then at most one shard's clients.
 *
 * A request goes to the first shard with a free connection (so light load reuses the first shard's warm
 * connections, as one Pool would), else to the least busy one, where undici queues it as one Pool would have: the
 * shards' caps add up to `connections`, and a request waits only when every connection is busy. A shard's count is
 * taken when its call is dispatched and given back when the call ends (UpstreamCall.onSettled).
 */
export class ShardedPool {
  private readonly shards: { pool: Pool; cap: number; inFlight: number }[] = [];

  constructor(
    origin: string,
    connections: number,
    options: Omit<UndiciPool.Options, 'connections'>,
    shardConnections = 256,
  ) {
    const n = Math.max(1, Math.ceil(connections / shardConnections));
    for (let i = 0; i < n; i++) {
      const cap = Math.floor(connections / n) + (i < connections % n ? 1 : 0);
      this.shards.push({ pool: new Pool(origin, { ...options, connections: cap }), cap, inFlight: 0 });
    }
  }

  dispatch(options: Dispatcher.DispatchOptions, call: UpstreamCall): void {
    const shards = this.shards;
    let pick = shards[0] as (typeof shards)[number];
    if (pick.inFlight >= pick.cap) {
      for (const s of shards) {
        if (s.inFlight < s.cap) {
          pick = s;
          break;
        }
        if (s.inFlight < pick.inFlight) pick = s;
      }
    }
    const shard = pick;
    shard.inFlight++;
    call.onSettled(() => shard.inFlight--);
    try {
      shard.pool.dispatch(options, call);
    } catch (err) {
      call.settle();
      throw err;
    }
  }

  /** Calls in flight per shard, in order (tests). */
  get inFlight(): number[] {
    return this.shards.map((s) => s.inFlight);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.pool.destroy()));
  }
}
