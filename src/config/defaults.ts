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
    /** Longest time a whole `/v1/files` upload may take (body_timeout bounds each pause within it). */
    upload_timeout: '10m',
    /** Client connections open at once; more are closed as they arrive (a flood must not exhaust descriptors). */
    max_connections: 8192,
    /** Listen on a non-loopback address without auth.keys / admin.key (refused unless this says so). */
    allow_unauthenticated: false,
    /** Host names clients use besides loopback names and the listen address (the Host check against DNS rebinding). */
    allowed_hosts: [] as string[],
    /** Forward an upstream's SSE comments (`: keep-alive`) to streaming clients. */
    sse_comments: false,
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
    /**
     * deepseek | vllm | sglang | ollama | openai; null: inferred — from the URL (api.deepseek.com, Ollama's port
     * 11434), else from one GET {url}/models at startup (vLLM, SGLang, Ollama name themselves), else openai.
     */
    kind: null as 'deepseek' | 'vllm' | 'sglang' | 'ollama' | 'openai' | null,
    /**
     * The APIs it serves. auto: chat completions, plus the Anthropic Messages API on a deepseek kind (DeepSeek
     * serves it under /anthropic); openai: chat completions only; anthropic: Messages only; both: the two.
     */
    api: 'auto' as 'auto' | 'openai' | 'anthropic' | 'both',
    /** The account's concurrency cap; Spillway never has more requests than this in flight to the upstream. */
    max_concurrency: 256,
    weight: 1,
    /** undici pool connection cap; null means max_concurrency. */
    connections: null as number | null,
    timeouts: {
      connect: '5s',
      /**
       * Until the first real token (keep-alive comments and blank lines do not count). `auto`: learned per upstream
       * and model (p99 × 3, floors and ceilings in upstream/adaptive-timeouts.ts) and bounded by the deadline.
       */
      first_token: 'auto',
      /** Longest silence between two chunks once the answer has started; `auto` as above. */
      idle: 'auto',
      total: '10m',
    },
  },
  route: {
    weight: 1,
    /** Request fields a route adds when the client did not set them: none. */
    params: {} as Record<string, unknown>,
  },
  model: {
    /** Mid-stream recovery: auto continues a cut stream where the upstream's kind allows it exactly. */
    continuation: 'auto' as 'auto' | 'off' | 'prefix' | 'continue_final_message' | 'prompt',
  },
  queue: {
    /** Wait for a free upstream slot instead of failing when every route is at its cap. */
    enabled: true,
    /** Requests waiting at once, over all models; a newcomer beyond it is refused (or displaces lower priority). */
    max_size: 5000,
    /** Longest wait for a slot, whatever the client's deadline. */
    max_wait: '30s',
    /** A waiting stream gets an SSE comment this often so intermediaries do not time it out (0s: never). */
    stream_keepalive: '10s',
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
  jobs: {
    /** Async requests and the Batch API (off: they are not served and nothing is written to disk). */
    enabled: false,
    /** sqlite: embedded, one instance; redis: shared by every instance (uses state.redis). */
    store: 'sqlite' as 'sqlite' | 'redis',
    data_dir: './spillway-data',
    /** Items stored at once (all jobs, finished ones included until retention removes them). */
    max_items: 1_000_000,
    /** Largest uploaded batch input file (OpenAI's limit). */
    max_file_bytes: 200 * 1024 * 1024,
    /** Files one tenant holds at once (uploads and batch outputs, until deleted or removed by retention). */
    tenant_max_files: 100,
    /** Bytes of files one tenant holds at once: what one key can put on this disk, whatever the retention. */
    tenant_max_stored_bytes: 2 * 1024 * 1024 * 1024,
    /** Lines per batch (OpenAI's limit). */
    max_batch_items: 50_000,
    /** Finished jobs, their results and files are deleted this long after they finish (a batch's window is 24h: 2 days more to fetch). */
    retention: '72h',
    /** Answers larger than this are written to a file under data_dir instead of the database. */
    inline_result_max_bytes: 64 * 1024,
    /** Items this instance runs at once, at most (AIMD keeps it lower while upstreams push back). */
    concurrency: 64,
    /** Items one tenant may run at once on this instance (null: no cap besides concurrency). */
    tenant_concurrency: null as number | null,
    /** Jobs use at most this share of the upstreams' capacity (interactive in flight included): the rest is headroom. */
    spare_percent: 70,
    /** Interactive load counts as its peak over this window, so items leave room for the next burst ("0s": now only). */
    headroom_window: '10s',
    /** Items start only while the gateway's event loop runs less late than this (its own CPU is capacity too). */
    max_event_loop_lag: '20ms',
    /** Runs of an item before it goes to the dead-letter list. */
    max_attempts: 5,
    backoff_base: '1s',
    backoff_cap: '5m',
    /** A running item's lease; renewed while it runs, so only a dead instance's items come back after it. */
    lease: '30s',
    /** Deadline of one run of an item. */
    item_timeout: '10m',
    /** Daily UTC windows in which items may start ("HH:MM-HH:MM"); empty: always. */
    run_windows: [] as string[],
    /** Leading prompt characters that group items so a shared prefix hits the upstream's context cache. */
    prefix_chars: 2048,
    /** How often an idle runner looks for work another instance queued (its own submissions wake it at once). */
    poll_interval: '500ms',
    webhook: {
      /** HMAC-SHA256 key for webhook signatures (null: webhooks are sent unsigned). */
      secret: null as string | null,
      timeout: '10s',
      max_attempts: 5,
      /** Hosts webhooks may go to ("hooks.example.com", "*.example.com"); empty: webhooks are refused. */
      allowed_hosts: [] as string[],
      /** Also deliver to loopback, private and link-local addresses (a receiver inside your network, tests). */
      allow_private: false,
    },
  },
  responses: {
    /**
     * Where the Responses door keeps stored responses (`store`, `previous_response_id`, GET by id). auto: Redis when
     * state.redis is set (every instance finds them), else SQLite under jobs.data_dir; memory: this process only.
     */
    store: 'auto' as 'auto' | 'memory' | 'sqlite' | 'redis',
    /** How long a stored response is kept (OpenAI keeps them 30 days). */
    retention: '720h',
    /** Bytes of stored responses one tenant holds at once; beyond it its oldest go first. */
    tenant_max_bytes: 256 * 1024 * 1024,
  },
} as const;
