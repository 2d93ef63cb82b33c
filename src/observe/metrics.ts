import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The first-token and idle timeouts in force for one upstream, upstream model and mode (ms). */
export interface TimeoutRow {
  upstream: string;
  model: string;
  /** Streams or whole answers; `_structured`: requests whose output a grammar constrains (learned apart). */
  mode: 'stream' | 'json' | 'stream_structured' | 'json_structured';
  firstTokenMs: number;
  idleMs: number;
}

/** One upstream's requests in flight, and each of its accounts'. */
export interface InFlightRow {
  upstream: string;
  inFlight: number;
  accounts: readonly { name: string; inFlight: number }[];
}

/**
 * Every metric Spillway exports, declared once. Each gateway owns its registry, so tests can run several gateways in
 * one process. docs/metrics.md is checked against this registry by a test.
 */
export class Metrics {
  readonly registry = new Registry();
  /**
   * Where the in-flight gauges read their values, at scrape time (the live balancer). Read then rather than set on
   * every lease taken and released: four labelled gauge writes per request, each hashing its labels, for a number
   * that is only looked at when scraped. Upstreams no longer in the config vanish from the series with it.
   */
  inFlightSource: (() => readonly InFlightRow[]) | undefined;
  /** Where the timeout gauge reads, at scrape time (the live pipeline's adaptive timeouts). */
  timeoutSource: (() => readonly TimeoutRow[]) | undefined;

  readonly requests = new Counter({
    name: 'spillway_requests_total',
    help: 'Finished API requests by public model, upstream that answered, HTTP status and error code ("ok" on success).',
    labelNames: ['model', 'upstream', 'status', 'code'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'spillway_request_duration_seconds',
    help: 'Time from request received to response finished, by public model and stream (true/false).',
    labelNames: ['model', 'stream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly ttft = new Histogram({
    name: 'spillway_ttft_seconds',
    help: 'Time from request received to the first token sent to the client (streams), by public model.',
    labelNames: ['model'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: 'spillway_gateway_overhead_seconds',
    help: 'Time the gateway added to a request: request time minus the time spent waiting on upstreams.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly upstreamInFlight: Gauge<'upstream'> = new Gauge({
    name: 'spillway_upstream_in_flight',
    help: 'Requests in flight to each upstream.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
    collect: () => {
      const rows = this.inFlightSource?.();
      if (rows === undefined) return;
      this.upstreamInFlight.reset();
      for (const r of rows) this.upstreamInFlight.set({ upstream: r.upstream }, r.inFlight);
    },
  });

  readonly upstreamTimeout: Gauge<'upstream' | 'model' | 'mode' | 'phase'> = new Gauge({
    name: 'spillway_upstream_timeout_seconds',
    help: 'First-token and idle timeouts in force per upstream, upstream model and mode (stream, json): pinned in the config, or learned (auto); each request may cut sooner to leave its deadline room for a retry.',
    labelNames: ['upstream', 'model', 'mode', 'phase'] as const,
    registers: [this.registry],
    collect: () => {
      const rows = this.timeoutSource?.();
      if (rows === undefined) return;
      this.upstreamTimeout.reset();
      for (const r of rows) {
        this.upstreamTimeout.set(
          { upstream: r.upstream, model: r.model, mode: r.mode, phase: 'first_token' },
          r.firstTokenMs / 1000,
        );
        this.upstreamTimeout.set(
          { upstream: r.upstream, model: r.model, mode: r.mode, phase: 'idle' },
          r.idleMs / 1000,
        );
      }
    },
  });

  readonly upstreamMaxConcurrency = new Gauge({
    name: 'spillway_upstream_max_concurrency',
    help: "Each upstream's configured concurrency cap (max_concurrency).",
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly upstreamLimit = new Gauge({
    name: 'spillway_upstream_concurrency_limit',
    help: "Each upstream's learned concurrency limit (adaptive concurrency; equals max_concurrency when off).",
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly accountInFlight: Gauge<'upstream' | 'account'> = new Gauge({
    name: 'spillway_account_in_flight',
    help: 'Requests in flight per upstream account (API key, by its name; never the key).',
    labelNames: ['upstream', 'account'] as const,
    registers: [this.registry],
    collect: () => {
      const rows = this.inFlightSource?.();
      if (rows === undefined) return;
      this.accountInFlight.reset();
      for (const r of rows)
        for (const a of r.accounts) this.accountInFlight.set({ upstream: r.upstream, account: a.name }, a.inFlight);
    },
  });

  readonly accountDisabled = new Counter({
    name: 'spillway_account_disabled_total',
    help: 'Times an upstream account (API key) was taken out of rotation for 5 minutes, by reason: auth_failed (401/403, the key was refused) or insufficient_balance (402, the account is out of funds).',
    labelNames: ['upstream', 'account', 'reason'] as const,
    registers: [this.registry],
  });

  readonly accountCooldowns = new Counter({
    name: 'spillway_account_cooldowns_total',
    help: 'Times an upstream account answered 429 and was rested until its Retry-After.',
    labelNames: ['upstream', 'account'] as const,
    registers: [this.registry],
  });

  readonly upstreamAttempts = new Counter({
    name: 'spillway_upstream_attempts_total',
    help: 'Upstream attempts by upstream and classified outcome (ok, overloaded, rate_limited, timeout, reset, server_error, client_error, auth_failed, insufficient_balance, invalid_answer, cancelled).',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamHealthy = new Gauge({
    name: 'spillway_upstream_healthy',
    help: '1 while an upstream is in rotation, 0 while passive health has taken it out.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly upstreamDrained = new Gauge({
    name: 'spillway_upstream_drained',
    help: '1 while an operator has drained an upstream (admin API): no new attempts go to it; 0 otherwise.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly upstreamEjections = new Counter({
    name: 'spillway_upstream_ejections_total',
    help: 'Times passive health took an upstream out of rotation.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'spillway_retries_total',
    help: 'Retries made, by the upstream whose failure caused them and that failure (outcome).',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly pushbacks = new Counter({
    name: 'spillway_pushbacks_total',
    help: 'Upstream "busy" answers (429/503 before any output) absorbed: the request went back to the wait queue, keeping its place, instead of failing or counting as a retry.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });

  readonly retryStops = new Counter({
    name: 'spillway_retry_stops_total',
    help: 'Failed attempts that were not retried, by why: not_retryable, committed, attempts_exhausted, deadline, budget.',
    labelNames: ['why'] as const,
    registers: [this.registry],
  });

  readonly hedges = new Counter({
    name: 'spillway_hedges_total',
    help: 'Hedges sent: a second attempt on another upstream because the first token was late, by public model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly hedgeWins = new Counter({
    name: 'spillway_hedge_wins_total',
    help: 'Hedged requests by which attempt answered first (winner: first or hedge) and its upstream.',
    labelNames: ['upstream', 'winner'] as const,
    registers: [this.registry],
  });

  readonly continuations = new Counter({
    name: 'spillway_continuations_total',
    help: 'Mid-stream recoveries by public model and result: started, completed, gave_up.',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'spillway_queue_depth',
    help: 'Requests waiting for a free upstream slot, by priority class.',
    labelNames: ['priority'] as const,
    registers: [this.registry],
  });

  readonly placesKept = new Counter({
    name: 'spillway_queue_places_kept_total',
    help: 'Places kept in the queue for refused SDK clients coming back at their Retry-After, by priority class and result: kept, claimed (the client came back), lapsed (it did not in time).',
    labelNames: ['priority', 'result'] as const,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'spillway_queue_wait_seconds',
    help: 'Time requests spent waiting for a free upstream slot (served or not), by priority class.',
    labelNames: ['priority'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly shed = new Counter({
    name: 'spillway_shed_total',
    help: 'Requests refused or dropped by admission, by reason (deadline_unmeetable, queue_full, displaced, queue_timeout, client_gone, rate_limited, shutdown) and priority.',
    labelNames: ['reason', 'priority'] as const,
    registers: [this.registry],
  });

  readonly degraded = new Gauge({
    name: 'spillway_degraded',
    help: '1 while degrade mode is on (deep queue or high shed rate), 0 otherwise.',
    registers: [this.registry],
  });

  readonly degradeActions = new Counter({
    name: 'spillway_degrade_actions_total',
    help: 'Requests changed by degrade mode, by action: cheaper_model, max_tokens_capped, stale_cache (answered from an expired cache entry).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  readonly stateDegraded = new Gauge({
    name: 'spillway_state_degraded',
    help: '1 while the shared state (Redis) is unreachable and this instance enforces scaled local limits; 0 otherwise.',
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'spillway_tokens_total',
    help: "Tokens reported by upstream usage, by public model, upstream and kind (prompt, completion, prompt_cache_hit, prompt_cache_miss: DeepSeek's context cache, counted when the upstream reports it).",
    labelNames: ['model', 'upstream', 'kind'] as const,
    registers: [this.registry],
  });

  readonly clientAborts = new Counter({
    name: 'spillway_client_aborts_total',
    help: 'Requests whose client went away before the answer was complete (the upstream request is aborted too).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly connectionsDropped = new Counter({
    name: 'spillway_connections_dropped_total',
    help: 'Client connections refused as they arrived (503 too_many_connections, or dropped unanswered in a flood) because server.max_connections were already open.',
    registers: [this.registry],
  });

  readonly cacheLookups = new Counter({
    name: 'spillway_cache_lookups_total',
    help: "Requests of cached models by what the cache did: hit (L1 or L2), miss (went upstream), coalesced (shared another request's upstream call), stale (expired entry served on error or while degraded), semantic_hit (the answer of a similar prompt), semantic_error (the embeddings call failed), bypass (not cacheable or opted out); level: l1, l2 or empty.",
    labelNames: ['model', 'result', 'level'] as const,
    registers: [this.registry],
  });

  readonly cacheStores = new Counter({
    name: 'spillway_cache_stores_total',
    help: 'Answers offered to the cache by outcome: stored, too_large (above max_entry_bytes), incomplete (no finish_reason, in-band error or failed), no_store (cache-control: no-store).',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });

  readonly cacheBytes = new Gauge({
    name: 'spillway_cache_memory_bytes',
    help: 'Bytes held by the in-memory cache level (L1), answers and keys.',
    registers: [this.registry],
  });

  readonly cacheEvictions = new Counter({
    name: 'spillway_cache_evictions_total',
    help: 'Entries pushed out of the in-memory cache level to stay under cache.memory_max_bytes.',
    registers: [this.registry],
  });

  readonly cacheRedisErrors = new Counter({
    name: 'spillway_cache_redis_errors_total',
    help: 'Redis (L2) cache commands that failed or timed out; each one counted as a miss or a skipped store.',
    registers: [this.registry],
  });

  readonly cacheFlightClients = new Histogram({
    name: 'spillway_cache_flight_clients',
    help: 'Clients served by one shared upstream call (1: nobody joined).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
    registers: [this.registry],
  });

  readonly streamsInterrupted = new Counter({
    name: 'spillway_streams_interrupted_total',
    help: 'Streams that failed after their first byte and were ended with an in-band error event.',
    labelNames: ['model', 'upstream'] as const,
    registers: [this.registry],
  });

  readonly demandRps = new Gauge({
    name: 'spillway_demand_rps',
    help: 'Arrival rate of API requests (per second), smoothed (the level of the Holt forecast).',
    registers: [this.registry],
  });

  readonly demandForecastRps = new Gauge({
    name: 'spillway_demand_forecast_rps',
    help: "Arrival rate forecast (per second) `horizon_seconds` ahead by Holt's linear smoothing (level + trend).",
    labelNames: ['horizon_seconds'] as const,
    registers: [this.registry],
  });

  readonly capacityRps = new Gauge({
    name: 'spillway_capacity_rps',
    help: "Requests per second the upstreams in rotation can serve: their learned concurrency limits over the mean service time (Little's law). Absent until one answer completed.",
    registers: [this.registry],
  });

  readonly forecastUtilization = new Gauge({
    name: 'spillway_forecast_utilization',
    help: 'Forecast demand over capacity at the forecast horizon (1 = the upstreams will be exactly full): a scaling signal.',
    registers: [this.registry],
  });

  readonly configReloads = new Counter({
    name: 'spillway_config_reloads_total',
    help: 'Config reloads (admin API or SIGHUP) by result: ok, invalid (refused; the old config stays in force).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly jobItems = new Gauge({
    name: 'spillway_jobs_items',
    help: 'Async job and batch items in the job store by state (queued, running, done, failed, dead, cancelled, expired), refreshed by the runner.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly jobOldestQueuedAge = new Gauge({
    name: 'spillway_jobs_oldest_queued_age_seconds',
    help: 'Age of the oldest queued job item (0 when none is queued).',
    registers: [this.registry],
  });

  readonly jobRuns = new Counter({
    name: 'spillway_jobs_runs_total',
    help: 'Runs of job items by this instance, by result: done, failed (client error), retry, pushback (no spare room; not counted as an attempt), dead, duplicate (a result already recorded by an earlier run).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly jobBackgroundLimit = new Gauge({
    name: 'spillway_jobs_background_limit',
    help: 'Job items this instance may run at once now (AIMD: halved on pushback, raised on success, up to jobs.concurrency).',
    registers: [this.registry],
  });

  readonly jobWebhooks = new Counter({
    name: 'spillway_jobs_webhooks_total',
    help: 'Webhook deliveries by result: delivered, retry, failed (given up after jobs.webhook.max_attempts).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'spillway_' });
  }
}
