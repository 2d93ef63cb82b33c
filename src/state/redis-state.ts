import type { Redis } from 'ioredis';
import { redisClient } from './load-redis.ts';
import type { RateDecision, RateLimitSpec, SharedState } from './shared-state.ts';

/**
 * SharedState in Redis, for several gateway instances. Every read-modify-write is one Lua script (registered with
 * defineCommand, sent by EVALSHA), so it runs atomically on the server: no two instances can both see the last
 * free slot. Each script touches exactly one key, so the layout also works on Redis Cluster.
 *
 * Times come from the caller (`nowMs`); no answer depends on Redis TIME, so this class answers exactly like
 * MemoryState for the same arguments (the contract suite checks it). The price: instances must keep their clocks
 * in sync (NTP; an instance whose clock runs d ms ahead sees limits refill and leases expire d ms early). Redis
 * TIME would remove the skew but make the two implementations differ and the Redis one untestable with chosen
 * clock values; the TTLs set here are relative (PX), so they do not depend on Redis's clock either.
 *
 * Keys (P = "spillway:" + prefix):
 *   P rate:<key>   string, the GCRA TAT in ms (exact decimal), PX = time until the limiter is full again
 *   P slots:<key>  sorted set leaseId → expiresAt (ms), PEXPIRE = the latest lease's expiry
 *   P cool:<key>   string, untilMs (an account's rest); expires an hour after untilMs (garbage collection only).
 *                  The key keeps its first name: instances of two versions share it during a rolling deploy.
 */
export interface RedisStateOptions {
  url: string;
  /** Appended to "spillway:" so several gateways (or tests) can share one Redis without seeing each other. */
  prefix?: string;
  connectTimeoutMs?: number;
  /** A command without a reply after this long fails, so a stalled Redis cannot stall requests. */
  commandTimeoutMs?: number;
}

// The same arithmetic as gcra() in memory-state.ts, line for line; doubles behave identically in Lua and JS.
// Values cross the wire as '%.17g' strings because a Lua number returned to Redis is truncated to an integer.
const GCRA_LUA = `
local G = 1024
local function snap(x) return math.floor(x * G + 0.5) / G end
local now = snap(tonumber(ARGV[1]))
local t = math.max(1 / G, snap(tonumber(ARGV[2]) / tonumber(ARGV[3])))
local tau = snap(t * tonumber(ARGV[4]))
local inc = snap(tonumber(ARGV[5]) * t)
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local nxt = tat + inc
local retry = 0
local allowed = inc < 0 or nxt - tau <= now
if inc < 0 then nxt = math.max(now, nxt) end
if not allowed then
  nxt = tat
  if inc > tau then retry = -1 else retry = tat + inc - tau - now end
elseif nxt > now then
  redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', math.ceil(nxt - now))
else
  redis.call('DEL', KEYS[1])
end
local remaining = math.max(0, math.floor((now + tau - nxt) / t))
local f = '%.17g'
return { allowed and 1 or 0, string.format(f, retry), string.format(f, remaining), string.format(f, nxt - now) }`;

// A lease expires when now reaches its score, hence ZREMRANGEBYSCORE up to now inclusive.
const ACQUIRE_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - tonumber(ARGV[1]))))
return 1`;

// Redis TIME appears only here, and only to garbage-collect the key an hour after it stops mattering: answers
// compare untilMs with the caller's clock, so a skewed Redis clock cannot end a rest early.
const REST_LUA = `
local untilMs = tonumber(ARGV[1])
if untilMs > tonumber(redis.call('GET', KEYS[1]) or '0') then
  local t = redis.call('TIME')
  local redisNow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil(math.max(0, untilMs - redisNow)) + 3600000)
end
return 1`;

interface Scripts {
  spillwayGcra(
    key: string,
    now: string,
    periodMs: string,
    limit: string,
    burst: string,
    cost: string,
  ): Promise<[number, string, string, string]>;
  spillwayAcquire(key: string, now: string, cap: string, leaseId: string, expiresAt: string): Promise<number>;
  spillwayRest(key: string, untilMs: string): Promise<number>;
}

export class RedisState implements SharedState {
  readonly kind: string = 'redis';
  private readonly redis: Redis & Scripts;
  private readonly prefix: string;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(opts: RedisStateOptions) {
    this.prefix = `spillway:${opts.prefix ?? ''}`;
    this.redis = new (redisClient())(opts.url, {
      lazyConnect: true,
      // Fail fast while Redis is away instead of queueing: the caller (ResilientState) answers locally.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: opts.connectTimeoutMs ?? 1000,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      // Keep reconnecting in the background, at most a second apart, so recovery is noticed quickly.
      retryStrategy: (times) => Math.min(times * 100, 1000),
    }) as Redis & Scripts;
    // Without a listener ioredis prints every connection error; failures surface as rejected commands instead.
    this.redis.on('error', () => {});
    this.redis.defineCommand('spillwayGcra', { numberOfKeys: 1, lua: GCRA_LUA });
    this.redis.defineCommand('spillwayAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
    this.redis.defineCommand('spillwayRest', { numberOfKeys: 1, lua: REST_LUA });
  }

  async rateLimit(key: string, spec: RateLimitSpec, cost: number, nowMs: number): Promise<RateDecision> {
    const r = await this.client();
    const burst = spec.burst ?? spec.limit;
    const [allowed, retry, remaining, reset] = await r.spillwayGcra(
      this.key('rate', key),
      String(nowMs),
      String(spec.periodMs),
      String(spec.limit),
      String(burst),
      String(cost),
    );
    return {
      allowed: allowed === 1,
      retryAfterMs: retry === '-1' ? Number.POSITIVE_INFINITY : Number(retry),
      remaining: Number(remaining),
      resetMs: Number(reset),
    };
  }

  async acquireSlot(key: string, cap: number, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    const r = await this.client();
    // expiresAt is computed here, as MemoryState does, so both store the identical double.
    return (
      (await r.spillwayAcquire(this.key('slots', key), String(nowMs), String(cap), leaseId, String(nowMs + ttlMs))) ===
      1
    );
  }

  async releaseSlot(key: string, leaseId: string): Promise<void> {
    await (await this.client()).zrem(this.key('slots', key), leaseId);
  }

  async slotsInUse(key: string, nowMs: number): Promise<number> {
    return (await this.client()).zcount(this.key('slots', key), `(${nowMs}`, '+inf');
  }

  async setRestingUntil(key: string, untilMs: number): Promise<void> {
    await (await this.client()).spillwayRest(this.key('cool', key), String(untilMs));
  }

  async restingUntil(key: string, nowMs: number): Promise<number> {
    const v = await (await this.client()).get(this.key('cool', key));
    const until = v === null ? 0 : Number(v);
    return until > nowMs ? until : 0;
  }

  /** Resolves when Redis answers; ResilientState probes with it while degraded. */
  async ping(): Promise<void> {
    await (await this.client()).ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  private key(kind: string, key: string): string {
    return `${this.prefix}${kind}:${key}`;
  }

  /**
   * Connects on first use. With the offline queue off, a command sent before the connection is ready fails, so
   * concurrent first callers all wait on the one connect. Later outages are not awaited: ioredis reconnects in
   * the background and commands fail fast meanwhile.
   */
  private async client(): Promise<Redis & Scripts> {
    if (this.closed) throw new Error('RedisState is closed');
    // 'end' without close(): ioredis gave up on a fatal connect error; start over rather than fail forever.
    if (this.redis.status === 'wait' || this.redis.status === 'end') {
      this.connecting ??= this.redis.connect().finally(() => (this.connecting = undefined));
    }
    if (this.connecting) await this.connecting;
    return this.redis;
  }
}
