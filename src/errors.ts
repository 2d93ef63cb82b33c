/**
 * The SpillwayError family: every failure the gateway can report has a stable `code`, an HTTP `status` and an
 * OpenAI error `type`. Nothing throws a string. `api/render-error.ts` is the only place these become HTTP.
 * ERROR_CODES is also the source that docs/errors.md is checked against.
 */
export const ERROR_CODES = {
  invalid_json: { status: 400, type: 'invalid_request_error', when: 'The request body is not valid JSON.' },
  invalid_request: {
    status: 400,
    type: 'invalid_request_error',
    when: 'A required field is missing or has the wrong type (`param` names it), the JSON body nests arrays and objects deeper than 128 levels, or the request path is not valid percent-encoding.',
  },
  unauthorized: {
    status: 401,
    type: 'authentication_error',
    when: 'Gateway keys are configured and the request has no key or a wrong one.',
  },
  model_not_allowed: {
    status: 403,
    type: 'permission_error',
    when: 'The tenant of the key may not use the requested model.',
  },
  not_found: { status: 404, type: 'invalid_request_error', when: 'No route for this path.' },
  model_not_found: {
    status: 404,
    type: 'invalid_request_error',
    when: 'The requested model is not one of the public models in the config.',
  },
  reload_unavailable: {
    status: 409,
    type: 'invalid_request_error',
    when: 'Admin API: a config reload was asked of a gateway started without a config file (zero-config); there is no file to re-read.',
  },
  config_invalid: {
    status: 422,
    type: 'invalid_request_error',
    when: 'Admin API / SIGHUP: the config file on disk is not valid. The message lists every problem (file, key path, value, expectation); the config in force is kept.',
  },
  host_not_allowed: {
    status: 403,
    type: 'permission_error',
    when: 'The `Host` header names neither a loopback name, the listen address nor one of `server.allowed_hosts` (on a loopback listener, or anywhere once `server.allowed_hosts` is set): refused to stop DNS rebinding.',
  },
  cross_origin_refused: {
    status: 403,
    type: 'permission_error',
    when: "The request carries an `Origin` that is not the gateway's own (`Host`): a cross-site page's request, refused (CSRF).",
  },
  json_required: {
    status: 415,
    type: 'invalid_request_error',
    when: 'A state-changing admin request (POST, PUT, DELETE) without `content-type: application/json`, which cross-site forms cannot send.',
  },
  method_not_allowed: {
    status: 405,
    type: 'invalid_request_error',
    when: 'The path exists but not for this HTTP method.',
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    when: 'The client did not finish sending the body in time.',
  },
  expectation_failed: {
    status: 417,
    type: 'invalid_request_error',
    when: 'The request has an `Expect` header other than `100-continue`.',
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    when: 'The request line and headers are larger than the server accepts (16 KiB); answered before any route.',
  },
  body_too_large: {
    status: 413,
    type: 'invalid_request_error',
    when: 'The body is larger than `server.body_limit_bytes`.',
  },
  messages_api_only: {
    status: 400,
    type: 'invalid_request_error',
    when: 'A chat completions, completions, embeddings or Responses request for a model whose routes all go to upstreams with `api: anthropic` (they serve only the Anthropic Messages API): send it to `/v1/messages`, or add a route to an upstream that serves chat completions.',
  },
  upstream_rejected: {
    status: 400,
    type: 'invalid_request_error',
    when: "An upstream refused the request as invalid (4xx other than 401/403/429). The upstream's status and message are passed through; its own `code` is kept when it sent one.",
  },
  rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    when: 'A rate limit of the gateway (key, tenant, model, account) or the upstream (429) was reached. `Retry-After` says when the request would fit.',
  },
  deadline_unmeetable: {
    status: 429,
    type: 'rate_limit_error',
    when: 'From the queue ahead and the observed service rate, the request could not start before its deadline: refused at once, with `Retry-After` when it could.',
  },
  file_not_found: {
    status: 404,
    type: 'invalid_request_error',
    when: 'Async jobs: no file with this id (or it belongs to another tenant, or retention removed it).',
  },
  batch_not_found: {
    status: 404,
    type: 'invalid_request_error',
    when: 'Async jobs: no batch with this id (or it belongs to another tenant, or retention removed it).',
  },
  job_not_found: {
    status: 404,
    type: 'invalid_request_error',
    when: 'Async jobs: no async request or job item with this id.',
  },
  response_not_found: {
    status: 404,
    type: 'invalid_request_error',
    when: 'Responses API: no stored response with this id (`GET /v1/responses/{id}`, `previous_response_id`): it was created with `store: false`, by another key, or has left the store (docs/doors.md: retention).',
  },
  invalid_batch_line: {
    status: 400,
    type: 'invalid_request_error',
    when: 'A line of a batch input file is not a valid request line (`param` names the line number); the batch is not created.',
  },
  unsupported_endpoint: {
    status: 400,
    type: 'invalid_request_error',
    when: 'A batch (or one of its lines) targets an endpoint Spillway does not run in batches (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` are supported), or an async request asks for a stream or comes through the Messages or Responses door.',
  },
  webhook_not_allowed: {
    status: 400,
    type: 'invalid_request_error',
    when: 'Async requests: `x-spillway-webhook-url` is not an http(s) URL whose host is in `jobs.webhook.allowed_hosts` (empty: webhooks are off), or it is a non-public address. Nothing was stored.',
  },
  idempotency_key_reused: {
    status: 409,
    type: 'invalid_request_error',
    when: 'An async request reused an `Idempotency-Key` of the same tenant with a different body.',
  },
  job_storage_full: {
    status: 507,
    type: 'server_error',
    when: 'The job store holds `jobs.max_items` items (finished jobs leave after `jobs.retention`), or an uploaded file exceeds `jobs.max_file_bytes`: nothing was stored.',
  },
  upload_quota_exceeded: {
    status: 507,
    type: 'server_error',
    when: "Files API: the tenant's stored files (uploads and batch output files) would exceed `jobs.tenant_max_files` or `jobs.tenant_max_stored_bytes`. Nothing was stored; delete files or wait for `jobs.retention`.",
  },
  disk_full: {
    status: 507,
    type: 'server_error',
    when: 'Async jobs: the disk under `jobs.data_dir` is full (SQLite could not grow, or a file could not be written). Nothing was stored, nothing half-written is kept; retrying helps only once space is freed.',
  },
  store_unavailable: {
    status: 503,
    type: 'server_error',
    when: 'Async jobs: the job store (SQLite locked or failing, Redis unreachable or not accepting writes) or the data directory (read-only, no permission) could not be used. Nothing was changed. The Responses door: the store of stored responses (`responses.store`) could not be read for `previous_response_id` or `GET /v1/responses/{id}`. `Retry-After` is set.',
  },
  internal_error: { status: 500, type: 'server_error', when: 'A bug in Spillway. Logged once with its stack.' },
  upstream_error: {
    status: 502,
    type: 'server_error',
    when: 'The upstream failed: 5xx, connection reset or refused, or a 200 that is not an answer (empty or blank body, not JSON, truncated, without `choices`, wrong content-type, a stream that ended before its first content) — never relayed as it came.',
  },
  upstream_auth_failed: {
    status: 502,
    type: 'server_error',
    when: "The upstream rejected Spillway's API key (401/403): a configuration problem, logged as such. The upstream key is never shown.",
  },
  upstream_insufficient_balance: {
    status: 502,
    type: 'server_error',
    when: 'Every key that could serve the request belongs to an upstream account with insufficient balance (402); each such key is disabled for 5 minutes and logged (meanwhile requests get 503 `no_capacity` with `Retry-After`). A configuration problem: top up the account.',
  },
  overloaded: {
    status: 503,
    type: 'server_error',
    when: 'The upstream answered 503 (server busy), or held the request in its own queue on keep-alives (blank lines, `: keep-alive`) past the first-token timeout. `Retry-After` is set.',
  },
  no_capacity: {
    status: 503,
    type: 'server_error',
    when: 'Every route of the model is at its `max_concurrency` or taken out by passive health. Answered at once, with `Retry-After`.',
  },
  queue_full: {
    status: 503,
    type: 'server_error',
    when: "Every upstream is busy and the wait queue is full (or a higher-priority request took this one's place). `Retry-After` is set.",
  },
  queue_timeout: {
    status: 503,
    type: 'server_error',
    when: 'The request waited for a free upstream until its deadline (or `queue.max_wait`) and was dropped before reaching an upstream. `Retry-After` is set.',
  },
  cache_unavailable: {
    status: 503,
    type: 'server_error',
    when: 'Admin cache purge only: the Redis cache level (`cache.redis`) could not be reached. Memory was purged, Redis was not: retry the purge.',
  },
  draining: { status: 503, type: 'server_error', when: 'The gateway is shutting down and takes no new requests.' },
  too_many_connections: {
    status: 503,
    type: 'server_error',
    when: 'The gateway already holds `server.max_connections` client connections: this one is answered as it arrives, before its request is read, and closed. `Retry-After` is set.',
  },
  upstream_timeout: {
    status: 504,
    type: 'server_error',
    when: 'The upstream did not connect, send its first token, keep sending, or finish within its timeouts or the request deadline.',
  },
  stream_interrupted: {
    status: 502,
    type: 'server_error',
    when: 'In-band only: a stream failed after its first byte reached the client. Sent as `data: {"error":…}` so SDKs raise it; never a clean end.',
  },
} as const satisfies Record<string, { status: number; type: string; when: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SpillwayErrorOptions {
  param?: string | null;
  /** Seconds the client should wait; rendered as `Retry-After`. */
  retryAfterS?: number;
  /** Overrides the code's default status (upstream 4xx pass-through keeps the upstream's status). */
  status?: number;
  /** An upstream's own error code, passed through instead of ours where it is more precise. */
  upstreamCode?: string;
  /** A machine-readable refinement for the gateway itself (never rendered), e.g. why there is no capacity. */
  detail?: string;
  cause?: unknown;
}

export class SpillwayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly openaiType: string;
  readonly param: string | null;
  readonly retryAfterS: number | undefined;
  readonly upstreamCode: string | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, opts: SpillwayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SpillwayError';
    this.code = code;
    this.status = opts.status ?? ERROR_CODES[code].status;
    this.openaiType = ERROR_CODES[code].type;
    this.param = opts.param ?? null;
    this.retryAfterS = opts.retryAfterS;
    this.upstreamCode = opts.upstreamCode;
    this.detail = opts.detail;
  }
}

/** A configuration mistake: names the file, the key path, the value and what was expected. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(file: string, problems: string[]) {
    super(`invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Raised by compose() when a stage breaks the pipeline contract: a bug, never a user error. */
export class PipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineError';
  }
}
