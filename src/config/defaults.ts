/**
 * Every default of the config, in one block, units in the names or the duration strings.
 * The schema (schema.ts) takes its defaults from here and docs/configuration.md is checked against it.
 */
export const DEFAULTS = {
  server: {
    host: '127.0.0.1',
    port: 8080,
    body_limit_bytes: 10 * 1024 * 1024,
    /** Deadline for a request whose client sends none (x-spillway-deadline-ms / x-stainless-timeout). */
    default_deadline: '10m',
    /** How long SIGTERM waits for in-flight requests before closing them. */
    drain_grace: '30s',
    /** Time allowed to receive the request body. */
    body_timeout: '30s',
  },
  admin: {
    /** Finished requests kept in memory for GET /admin/requests and the dashboard (0: none). */
    request_log_size: 500,
  },
  log: {
    level: 'info',
    /** One JSON line per request. */
    requests: true,
    /** Opt-in access log file (one JSON line per finished request); null: none. */
    access_file: null as string | null,
    /** Rotate the access log when it reaches this size (B, K, M or G). */
    access_file_max_size: '100M',
    /** Also rotate it this often (s, m, h, d, M); null: by size only. */
    access_file_interval: null as string | null,
    /** Rotated files kept (file.1 … file.N); older ones are removed. */
    access_file_keep: 10,
  },
  upstream: {
    /** The account's concurrency cap; Spillway never has more requests than this in flight to the upstream. */
    max_concurrency: 256,
    weight: 1,
    /** undici pool connection cap; null means max_concurrency. */
    connections: null as number | null,
    timeouts: {
      connect: '5s',
      /** Until the first real token (keep-alive comments and blank lines do not count). */
      first_token: '5m',
      /** Longest silence between two chunks once the answer has started. */
      idle: '60s',
      total: '10m',
    },
  },
  route: { weight: 1 },
  queue: {
    /** Wait for a free upstream slot instead of failing when every route is at its cap. */
    enabled: true,
    /** Requests waiting at once, over all models; a newcomer beyond it is refused (or displaces lower priority). */
    max_size: 1000,
    /** Longest wait for a slot, whatever the client's deadline. */
    max_wait: '30s',
    /** A waiting stream gets an SSE comment this often so intermediaries do not time it out (0s: never). */
    stream_keepalive: '10s',
    /**
     * At the door, how long a surge is expected to go on, as a multiple of how long it has lasted: 1 is the
     * Lindy estimate (refuses more, and sooner, in a long overload), 0 bets that it ends now (admits every burst).
     */
    surge_factor: 0.25,
    /** A surge younger than this is taken for a burst that ends now (its requests are admitted if they fit then). */
    burst_allowance: '10s',
    /** A waiting request is dropped early only when its expected wait overshoots its deadline by this factor. */
    recheck_margin: 1.25,
  },
  degrade: {
    /** Degrade while at least this many requests wait for a slot (null: not this trigger). */
    queue_depth: null as number | null,
    /** ...or while more than this share of recent requests were refused (null: not this trigger). */
    shed_percent: null as number | null,
    window: '10s',
    /** While degraded, max_tokens is capped at this (null: not capped). */
    max_tokens: null as number | null,
  },
  hedge: { percentile: 95, min_delay: '250ms', max_delay: '10s' },
  adaptive_concurrency: {
    /** Learn each upstream's real concurrency limit (AIMD) below its max_concurrency. */
    enabled: true,
    decrease_factor: 0.8,
    min_limit: 1,
    /** Failures within this long of a decrease are one overload, counted once. */
    decrease_interval: '1s',
  },
  retry: {
    /** Attempts per request, the first included. */
    max_attempts: 3,
    backoff_base: '50ms',
    backoff_cap: '20s',
    /** Retries may be at most this share of first attempts over the window (per upstream and overall)... */
    budget_ratio: 0.2,
    /** ...plus this many per second, so a quiet gateway can still retry. */
    budget_min_per_second: 1,
    budget_window: '10s',
    /** Longest a 429 from an upstream without Retry-After keeps its account cooling. */
    cooldown_default: '1s',
  },
  health: {
    /** Consecutive failures that take an upstream out of rotation. */
    failure_threshold: 5,
    /** ...or when this share of recent attempts failed, once there were enough of them. */
    failure_rate_percent: 50,
    failure_rate_min_requests: 20,
    failure_rate_window: '30s',
    /** First ejection lasts this long; each further one multiplies it, up to ejection_max. */
    ejection_base: '30s',
    ejection_max: '5m',
    /** Never more than this share of a model's routes ejected at once (the rest stay in rotation). */
    max_ejected_percent: 50,
  },
  tracing: {
    /** Off unless an OTLP endpoint is set. */
    otlp_endpoint: null as string | null,
    service_name: 'spillway',
    /** Share of new traces recorded (a client's traceparent decides for its own trace). */
    sample_ratio: 1,
  },
  cache: {
    /** How long a stored answer is fresh... */
    ttl: '10m',
    /** ...give or take this share, so entries written together do not expire together. */
    ttl_jitter_percent: 10,
    /** How long past its TTL an entry is kept to be served stale (0s: never). */
    stale_for: '0s',
    /** Bytes of answers held in this instance's memory (L1). */
    memory_max_bytes: 64 * 1024 * 1024,
    /** Larger answers are relayed but not stored. */
    max_entry_bytes: 1024 * 1024,
    /** Redis commands of the L2 cache fail after this long; the request goes on without L2. */
    redis_timeout: '200ms',
    semantic_threshold: 0.95,
    semantic_max_entries: 10_000,
  },
} as const;
