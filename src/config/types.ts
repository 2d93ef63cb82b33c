/** The resolved config: validated, defaults applied, durations in milliseconds, frozen. */
import type { UpstreamKind } from '../upstream/upstream-kind.ts';
import type { UpstreamApi } from '../upstream/upstream-api.ts';

export interface UpstreamTimeouts {
  connectMs: number;
  /** null: `auto`, adapted to what the upstream shows (upstream/adaptive-timeouts.ts); a number is pinned. */
  firstTokenMs: number | null;
  idleMs: number | null;
  totalMs: number;
}

/** Requests and tokens per minute; absent fields are not limited. */
export interface RateLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export type Priority = 'high' | 'normal' | 'low';

/** One account (API key) on an upstream. */
export interface AccountConfig {
  /** Label in logs and metrics; never the key. */
  name: string;
  apiKey: string | undefined;
  maxConcurrency: number;
  limits: RateLimits;
}

export interface TenantConfig {
  priority: Priority;
  maxPriority: Priority;
  limits: RateLimits;
}

export interface UpstreamConfig {
  name: string;
  /** Base URL without a trailing slash; an endpoint path such as `/chat/completions` is appended. */
  url: string;
  /** As set, else as the URL tells, else `openai` (a startup probe may learn better: see `kindProbe`). */
  kind: UpstreamKind;
  /** Neither the config nor the URL told the kind: a `GET /models` at startup may (upstream-kinds.ts). */
  kindProbe: boolean;
  /** The APIs it serves (upstream-api.ts): whether a Messages request is passed through to it, and whether others may go there. */
  api: UpstreamApi;
  /** One entry per API key (one keyless entry for an upstream without keys). */
  accounts: readonly AccountConfig[];
  maxConcurrency: number;
  weight: number;
  connections: number;
  headers: Readonly<Record<string, string>>;
  timeouts: UpstreamTimeouts;
  /** True for the embedded simulator of the zero-config start. */
  simulated: boolean;
  /** A self-hosted engine's /metrics, read for its queue depth and KV-cache use. */
  engineMetrics: { url: string; intervalMs: number } | null;
}

export interface RouteConfig {
  upstream: string;
  /** The model name sent to the upstream. */
  model: string;
  weight: number;
  /** Top-level request fields added on this route when the client did not set them (an alias's mode). */
  params?: Readonly<Record<string, unknown>>;
}

export interface ModelConfig {
  name: string;
  routes: readonly RouteConfig[];
  /** Public models tried, in order, when no route of this one can serve. */
  fallback: readonly string[];
  /** `auto`: chosen per attempt by the upstream's kind (retry/continuation.ts). */
  continuation: 'auto' | 'off' | 'prefix' | 'continue_final_message' | 'prompt';
  limits: RateLimits;
  /** While degraded, low-priority requests go to this public model. */
  degradeTo: string | null;
  hedge: { percentile: number; minDelayMs: number; maxDelayMs: number } | null;
}

export interface RetryConfig {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  budgetRatio: number;
  budgetMinPerSecond: number;
  budgetWindowMs: number;
  cooldownDefaultMs: number;
}

export interface CacheConfig {
  /** Public models whose answers are cached and coalesced; empty: the cache stage is left out. */
  models: readonly string[];
  requests: 'all' | 'opted_in';
  sampled: boolean;
  coalesce: boolean;
  ttlMs: number;
  ttlJitterPercent: number;
  staleForMs: number;
  staleOnError: boolean;
  staleWhenDegraded: boolean;
  memoryMaxBytes: number;
  maxEntryBytes: number;
  /** Group name → tenants sharing one namespace. */
  tenantGroups: Readonly<Record<string, readonly string[]>>;
  redis: { url: string; prefix: string; timeoutMs: number } | null;
  semantic: { upstream: string; model: string; threshold: number; maxEntries: number } | null;
}

export interface GatewayKey {
  /** Hex SHA-256 of the key: keys are compared by hash so the plain key need not stay in memory. */
  sha256: string;
  tenant: string;
  /** Public models this key may use; null means all. */
  models: readonly string[] | null;
  limits: RateLimits;
}

export interface Config {
  /** Where the config came from: a file path, or a description of the built-in default. */
  source: string;
  server: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    defaultDeadlineMs: number;
    drainGraceMs: number;
    bodyTimeoutMs: number;
    uploadTimeoutMs: number;
    maxConnections: number;
    /** Start on a non-loopback address without gateway or admin keys (config/exposure.ts). */
    allowUnauthenticated: boolean;
    /** Host names the Host check accepts besides loopback names and the listen address (admin/request-guard.ts). */
    allowedHosts: readonly string[];
    /** Forward upstream SSE comments to streaming clients. */
    sseComments: boolean;
  };
  /** Admin API and dashboard access; a null key leaves them open. */
  admin: { key: string | null; requestLogSize: number };
  log: {
    level: string; requests: boolean;
    /** Opt-in access log file; null: none. Sizes and intervals in rotating-file-stream's notation ("100M", "1d"). */
    accessFile: { path: string; maxSize: string; interval: string | null; keep: number } | null;
  };
  auth: { keys: readonly GatewayKey[] };
  tenants: Readonly<Record<string, TenantConfig>>;
  state: { redis: { url: string; prefix: string; localFraction: number } | null };
  upstreams: readonly UpstreamConfig[];
  models: Readonly<Record<string, ModelConfig>>;
  retry: RetryConfig;
  degrade: { queueDepth: number | null; shedPercent: number | null; windowMs: number; maxTokens: number | null };
  adaptiveConcurrency: { enabled: boolean; decreaseFactor: number; minLimit: number; decreaseIntervalMs: number };
  queue: { enabled: boolean; maxSize: number; maxWaitMs: number; streamKeepaliveMs: number; recheckMargin: number };
  health: {
    failureThreshold: number;
    failureRatePercent: number;
    failureRateMinRequests: number;
    failureRateWindowMs: number;
    ejectionBaseMs: number;
    ejectionMaxMs: number;
    maxEjectedPercent: number;
  };
  /** OpenTelemetry traces; `otlpEndpoint` null leaves tracing out entirely. */
  tracing: { otlpEndpoint: string | null; serviceName: string; sampleRatio: number; headers: Readonly<Record<string, string>> };
  cache: CacheConfig;
  jobs: JobsConfig;
  /** Stored responses of the Responses door (src/api/responses/create-response-store.ts). */
  responses: { store: 'memory' | 'sqlite' | 'redis'; retentionMs: number; tenantMaxBytes: number };
  /** The validated config in its file form (snake_case, defaults applied), for `check-config` and the admin API. */
  raw: unknown;
}

export interface JobsConfig {
  enabled: boolean;
  store: 'sqlite' | 'redis';
  dataDir: string;
  maxItems: number;
  maxFileBytes: number;
  maxBatchItems: number;
  tenantMaxFiles: number;
  tenantMaxStoredBytes: number;
  retentionMs: number;
  inlineResultMaxBytes: number;
  concurrency: number;
  tenantConcurrency: number | null;
  sparePercent: number;
  headroomWindowMs: number;
  maxLoopLagMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  leaseMs: number;
  itemTimeoutMs: number;
  /** "HH:MM-HH:MM" UTC, as configured (parsed by jobs/run-window.ts). */
  runWindows: readonly string[];
  prefixChars: number;
  pollIntervalMs: number;
  webhook: { secret: string | null; timeoutMs: number; maxAttempts: number; allowedHosts: readonly string[]; allowPrivate: boolean };
}
